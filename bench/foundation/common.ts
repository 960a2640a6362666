// Shared helpers for the foundation benchmarks. Plain Node (type stripping): erasable syntax only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../apps/cli/dist/bin.js', import.meta.url));
export const SYNTHETIC_PLUGIN = fileURLToPath(new URL('./synthetic-plugin', import.meta.url));
export const WORK = fileURLToPath(new URL('../.work/foundation/', import.meta.url));

export function workDir(name: string, fresh = true): string {
  const d = join(WORK, name);
  if (fresh) rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

export function requireCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: pnpm --filter @keepsake/cli build`);
}

export interface Measured {
  code: number | null;
  wallMs: number;
  /** Peak resident set size of the measured process, in bytes (GNU time %M). */
  maxRssBytes: number;
  /** User + system CPU time of the process and its children (GNU time %U + %S), in ms. */
  cpuMs: number;
  stdout: string;
  stderr: string;
}

/** Runs a command under GNU time to get its wall time and peak RSS. */
export function measure(cmd: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '__TIME__ %e %M %U %S', cmd, ...args], {
      cwd: o.cwd,
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      const m = stderr.match(/__TIME__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/);
      resolve({
        code,
        wallMs,
        maxRssBytes: m ? Number(m[2]) * 1024 : Number.NaN,
        cpuMs: m ? (Number(m[3]) + Number(m[4])) * 1000 : Number.NaN,
        stdout,
        stderr: stderr.replace(/__TIME__.*\n?/, ''),
      });
    });
  });
}

export function keepsake(args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Measured> {
  return measure(process.execPath, [CLI, ...args], o);
}

export async function writeConfig(dir: string, config: unknown): Promise<string> {
  const p = join(dir, 'keepsake.config.json');
  await writeFile(p, `${JSON.stringify(config, null, 2)}\n`);
  return p;
}

/** Flushes dirty pages so the next measurement does not pay for the previous one's writes. */
export function sync(): void {
  spawnSync('sync');
}

export const MB = 1_000_000;
export const mb = (n: number) => `${(n / MB).toFixed(0)} MB`;
export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Parses the human report's counters ("  2,000 copied (2.3 MB)"). */
export function reportCounts(stdout: string): Record<string, number> {
  const n = (re: RegExp) => Number((stdout.match(re)?.[1] ?? 'NaN').replace(/,/g, ''));
  return {
    seen: n(/([\d,]+) items seen/),
    copied: n(/([\d,]+) copied/),
    skipped: n(/([\d,]+) skipped/),
    deduped: n(/([\d,]+) deduped/),
    failed: n(/([\d,]+) failed/),
  };
}

export function machine(): string {
  const cpus = spawnSync('nproc').stdout?.toString().trim();
  return `Node ${process.versions.node}, ${cpus} CPUs, ${process.platform}`;
}
