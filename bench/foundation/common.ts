// Shared helpers for the foundation benchmarks. Plain Node (type stripping): erasable syntax only.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Writes a camera roll of about `total` bytes into `dir`: ~40 % of the bytes in 6–14 MB "videos",
 * the rest in 1.5–3.5 MB "photos", distinct random bytes. Sizes vary like a real camera roll's
 * (equal sizes would also make every file a possible duplicate, which keepsake pre-hashes first).
 */
export function writeCameraRoll(dir: string, total: number): { files: number; bytes: number } {
  mkdirSync(dir, { recursive: true });
  const block = randomBytes(14_000_000);
  let bytes = 0;
  let n = 0;
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  while (bytes < total) {
    n++;
    const video = n % 4 === 0;
    const size = Math.max(4, Math.min(total - bytes, Math.floor(video ? 6_000_000 + rnd() * 8_000_000 : 1_500_000 + rnd() * 2_000_000)));
    const data = block.subarray(0, size);
    data.writeUInt32BE(n, 0);
    writeFileSync(join(dir, `IMG_${String(n).padStart(4, '0')}.${video ? 'MOV' : 'JPG'}`), data);
    bytes += size;
  }
  return { files: n, bytes };
}
