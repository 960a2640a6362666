import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI (apps/cli/dist/bin.js); build it with `pnpm --filter @keepsake/cli build`. */
export const CLI_BIN = fileURLToPath(new URL('../../apps/cli/dist/bin.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  cwd: string;
  /** Added to a minimal environment (PATH, HOME, KEEPSAKE_DATA_DIR/CONFIG_DIR should be set by the test). */
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** A command the CLI runs under, e.g. `setpriv --bounding-set -dac_override` (see {@link withoutRootOverride}). */
  prefix?: string[];
}

function assertBuilt(): void {
  if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing: run \`pnpm --filter @keepsake/cli build\` first`);
}

/** Starts `keepsake …` with the same Node binary as the test runner. */
export function spawnCli(args: string[], o: CliOptions): ChildProcess {
  assertBuilt();
  const [cmd, ...pre] = [...(o.prefix ?? []), process.execPath, CLI_BIN, ...args];
  return spawn(cmd!, pre, {
    cwd: o.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NO_COLOR: '1', ...o.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `keepsake …` to completion and collects its output. */
export function runCli(args: string[], o: CliOptions): Promise<CliResult> {
  const started = performance.now();
  const child = spawnCli(args, o);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(o.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keepsake ${args.join(' ')} timed out after ${o.timeoutMs ?? 120_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, o.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Parses NDJSON output (`--json`) into events. */
export function ndjson(text: string): Record<string, any>[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** The `run-end` report from `--json` output. */
export function reportOf(stdout: string): Record<string, any> {
  const end = ndjson(stdout).find((e) => e.type === 'run-end');
  if (!end) throw new Error(`no run-end event in output:\n${stdout.slice(-2000)}`);
  return end.report as Record<string, any>;
}

/**
 * Tests run as root, and root reads a chmod-000 file anyway. This prefix runs the CLI as root
 * without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (dropped from the bounding set before exec), so
 * file modes apply to it as to any user. Undefined when not root (modes apply already) and
 * `[]`-like `null` when root but setpriv is missing (the caller should skip).
 */
export function withoutRootOverride(): string[] | undefined | null {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('setpriv', ['--bounding-set', '-dac_override,-dac_read_search', 'true']);
  return r.status === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search'] : null;
}
