// (a) No-op rerun over a 100k-asset ledger: target ≤ 5 s wall and ≤ 300 MB peak RSS.
//
// A synthetic source (bench/foundation/synthetic-plugin) yields N one-resource assets with
// synthetic sizes; a first run delivers them to a hash-and-discard sink so the ledger holds N
// verified deliveries. The measured rerun must skip every one without reading a byte.
import { readFileSync } from 'node:fs';
import { keepsake, machine, mb, reportCounts, requireCli, secs, SYNTHETIC_PLUGIN, workDir, writeConfig } from './common.ts';

const count = Number(process.env.BENCH_ASSETS ?? 100_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);
requireCli();
// BENCH_REUSE=1 keeps a ledger from an earlier setup run (the setup takes minutes at 100k)
const reuse = process.env.BENCH_REUSE === '1';
const dir = workDir('noop-rerun', !reuse);
await writeConfig(dir, {
  ledger: './ledger.sqlite',
  plugins: [SYNTHETIC_PLUGIN],
  pipelines: {
    bench: {
      source: { use: 'synthetic', with: { count, minBytes: 200, maxBytes: 4000 } },
      sinks: [{ use: 'discard' }],
      concurrency: 16,
    },
  },
});
// Sizes are small (200 B – 4 kB) so the setup run hashes 200 MB rather than 350 GB: a no-op rerun
// reads no bytes, so its cost depends on the number of assets, not their sizes.
console.log(`# no-op rerun, ${count.toLocaleString('en-US')} assets — ${machine()}`);
if (!reuse) {
  const first = await keepsake(['run'], { cwd: dir });
  const c1 = reportCounts(first.stdout);
  console.log(`setup run: ${secs(first.wallMs)}, peak RSS ${mb(first.maxRssBytes)}, copied ${c1.copied}, exit ${first.code}`);
  if (first.code !== 0 || c1.copied !== count) throw new Error(`setup failed:\n${first.stdout}\n${first.stderr}`);
}

const results = [];
for (let i = 0; i < runs; i++) {
  const r = await keepsake(['run'], { cwd: dir });
  const c = reportCounts(r.stdout);
  if (r.code !== 0 || c.skipped !== count || c.copied !== 0) throw new Error(`rerun was not a no-op:\n${r.stdout}\n${r.stderr}`);
  results.push(r);
  console.log(`rerun ${i + 1}: ${secs(r.wallMs)} wall, ${secs(r.cpuMs)} cpu, peak RSS ${mb(r.maxRssBytes)}, skipped ${c.skipped}`);
}
const best = Math.min(...results.map((r) => r.wallMs));
const median = results.map((r) => r.wallMs).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
const rss = Math.max(...results.map((r) => r.maxRssBytes));
const cpu = results.map((r) => r.cpuMs).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
console.log(`load average during the run: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(`RESULT noop-rerun assets=${count} median=${secs(median)} best=${secs(best)} cpu=${secs(cpu)} peakRss=${mb(rss)} target=5 s/300 MB ${median <= 5000 && rss <= 300 * 1_000_000 ? 'PASS' : 'FAIL'}`);
