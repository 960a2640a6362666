// (b) 2 GB folder → folder copy + verify through the CLI vs `cp -r` (and `cp -r` + `sync`) in the
// same run: target ≥ 0.8× cp throughput.
//
//   node bench/foundation/copy-vs-cp.ts            (BENCH_GB=2, BENCH_ROUNDS=1)
//
// The source is a camera roll of 2 MB "photos" and 10 MB "videos" (distinct random bytes), written
// once and then in the page cache for every contender alike. keepsake does what cp does not:
// sha256 while writing, fsync per file and folder, no-clobber rename, read-back hash, ledger rows.
// Its fair reference is therefore `cp -r && sync` (cp alone leaves dirty pages in memory).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { keepsake, machine, measure, reportCounts, requireCli, secs, sync, workDir, writeCameraRoll, writeConfig } from './common.ts';

const GB = Number(process.env.BENCH_GB ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
requireCli();
const dir = workDir('copy-vs-cp');
const src = join(dir, 'src', 'DCIM', '100APPLE');
mkdirSync(src, { recursive: true });

const { files: n, bytes } = writeCameraRoll(src, GB * 1_000_000_000);
sync();
console.log(`# copy + verify vs cp, ${n} files, ${(bytes / 1e9).toFixed(2)} GB — ${machine()}`);

const rate = (ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
const results: Record<string, number[]> = { cp: [], 'cp+sync': [], keepsake: [] };
const cpu: Record<string, number[]> = { cp: [], 'cp+sync': [], keepsake: [] };
for (let round = 1; round <= ROUNDS; round++) {
  for (const who of ['cp', 'cp+sync', 'keepsake'] as const) {
    const dest = join(dir, `dest-${who}`);
    rmSync(dest, { recursive: true, force: true });
    rmSync(join(dir, 'state'), { recursive: true, force: true });
    sync();
    let ms: number;
    if (who === 'keepsake') {
      mkdirSync(dest);
      await writeConfig(dir, {
        ledger: './state/ledger.sqlite',
        pipelines: { bench: { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: `./dest-${who}`, template: '{yyyy}' } }] } },
      });
      const r = await keepsake(['run'], { cwd: dir, env: { KEEPSAKE_DATA_DIR: join(dir, 'state', 'data') } });
      const c = reportCounts(r.stdout);
      if (r.code !== 0 || c.copied !== n) throw new Error(`keepsake run failed:\n${r.stdout}\n${r.stderr}`);
      ms = r.wallMs;
      cpu[who]!.push(r.cpuMs);
      console.log(`round ${round} keepsake: ${secs(ms)} ${rate(ms)}, cpu ${secs(r.cpuMs)}, peak RSS ${(r.maxRssBytes / 1e6).toFixed(0)} MB`);
    } else {
      const script = who === 'cp' ? `cp -r src "${dest}"` : `cp -r src "${dest}" && sync`;
      const r = await measure('sh', ['-c', script], { cwd: dir });
      if (r.code !== 0) throw new Error(r.stderr);
      ms = r.wallMs;
      cpu[who]!.push(r.cpuMs);
      console.log(`round ${round} ${who}: ${secs(ms)} ${rate(ms)}, cpu ${secs(r.cpuMs)}`);
    }
    results[who]!.push(ms);
    rmSync(dest, { recursive: true, force: true });
    sync();
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const k = med(results.keepsake!);
const cp = med(results.cp!);
const cps = med(results['cp+sync']!);
console.log(`cpu per GB: keepsake ${secs(med(cpu.keepsake!) / (bytes / 1e9))}, cp ${secs(med(cpu.cp!) / (bytes / 1e9))}`);
console.log(`load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(
  `RESULT copy-vs-cp bytes=${bytes} keepsake=${rate(k)} cp=${rate(cp)} cp+sync=${rate(cps)} ratio-vs-cp=${(cp / k).toFixed(2)} ratio-vs-cp+sync=${(cps / k).toFixed(2)} target≥0.8 ${cps / k >= 0.8 ? 'PASS(vs cp+sync)' : 'FAIL(vs cp+sync)'}`,
);
rmSync(dir, { recursive: true, force: true });
spawnSync('sync');
