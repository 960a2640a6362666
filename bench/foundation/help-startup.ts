// (d) `keepsake --help` cold start: < 300 ms. Uses hyperfine when installed (apt install hyperfine),
// else N timed spawns. Reference in the same run: `node -e 0` (the floor any Node CLI pays).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI, machine, requireCli, workDir } from './common.ts';

requireCli();
const dir = workDir('help');
const runs = Number(process.env.BENCH_RUNS ?? 30);
const node = process.execPath;
const cases = [
  ['node -e 0', `${node} -e 0`],
  ['keepsake --version', `${node} ${CLI} --version`],
  ['keepsake --help', `${node} ${CLI} --help`],
  ['keepsake run --help', `${node} ${CLI} run --help`],
  ['keepsake plugins (loads core, reads 9 manifests)', `${node} ${CLI} plugins`],
] as const;
console.log(`# CLI cold start — ${machine()}`);
const hyperfine = spawnSync('hyperfine', ['--version']).status === 0;
const results: { name: string; meanMs: number; minMs: number; maxMs: number }[] = [];
if (hyperfine) {
  const out = `${dir}/hyperfine.json`;
  const r = spawnSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(runs), '--export-json', out, ...cases.map(([, c]) => c)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('hyperfine failed');
  const json = JSON.parse(readFileSync(out, 'utf8')) as { results: { mean: number; min: number; max: number }[] };
  for (const [i, x] of json.results.entries()) results.push({ name: cases[i]![0], meanMs: x.mean * 1000, minMs: x.min * 1000, maxMs: x.max * 1000 });
} else {
  for (const [name, cmd] of cases) {
    const [bin, ...args] = cmd.split(' ');
    const times: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const t = performance.now();
      spawnSync(bin!, args, { stdio: 'ignore' });
      if (i >= 3) times.push(performance.now() - t);
    }
    results.push({ name, meanMs: times.reduce((a, b) => a + b, 0) / times.length, minMs: Math.min(...times), maxMs: Math.max(...times) });
  }
}
// CPU time (user + sys, GNU time) is what a busy machine distorts least: wall time includes waiting
// for a core when other jobs run.
const cpuMs = (cmd: string): number => {
  const [bin, ...args] = cmd.split(' ');
  const xs: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', bin!, ...args], { encoding: 'utf8' });
    const m = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    xs.push((m[0]! + m[1]!) * 1000);
  }
  return xs.sort((a, b) => a - b)[5]!;
};
const cpu = new Map(cases.map(([name, cmd]) => [name, cpuMs(cmd)]));
for (const r of results) console.log(`${r.name.padEnd(52)} wall mean ${r.meanMs.toFixed(1)} ms  min ${r.minMs.toFixed(1)}  max ${r.maxMs.toFixed(1)}  cpu ${cpu.get(r.name)!.toFixed(0)} ms`);
const help = results.find((r) => r.name === 'keepsake --help')!;
console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
const floor = results.find((r) => r.name === 'node -e 0')!;
console.log(
  `RESULT help-startup mean=${help.meanMs.toFixed(0)} ms min=${help.minMs.toFixed(0)} ms (node -e 0: mean ${floor.meanMs.toFixed(0)} ms, min ${floor.minMs.toFixed(0)} ms; ${hyperfine ? 'hyperfine' : 'spawn loop'}) cpu=${cpu.get('keepsake --help')!.toFixed(0)} ms target<300 ms ${help.meanMs < 300 ? 'PASS' : 'FAIL (wall)'}`,
);
