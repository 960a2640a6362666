import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;

/** nproc, CPU model, memory, load — printed with every run since the machine is shared. */
export function describeMachine(): string {
  const free = (() => {
    try {
      return execFileSync('free', ['-g'], { encoding: 'utf8' }).trim();
    } catch {
      return `total ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
    }
  })();
  return [
    `node ${process.version}, nproc ${availableParallelism()}, ${cpus()[0]?.model ?? 'unknown CPU'}`,
    `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    free,
  ].join('\n');
}

/** Runs a command to completion: wall seconds, CPU seconds (user + sys, via /usr/bin/time) and stdout. */
export function spawnTimed(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { s: number; cpu: number; stdout: string } {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', cmd, ...args], { ...o, encoding: 'utf8', maxBuffer: 1 << 30 });
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [u, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { s, cpu: u! + sys!, stdout: r.stdout };
}
