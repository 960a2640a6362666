// (c) Peak RSS while copying one 4 GB file through the CLI (folder → folder, verified): < 250 MB.
//
//   node bench/foundation/big-file-rss.ts          (BENCH_BIG_GB=4)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { keepsake, machine, mb, reportCounts, requireCli, secs, sync, workDir, writeConfig } from './common.ts';

const GB = Number(process.env.BENCH_BIG_GB ?? 4);
requireCli();
const dir = workDir('big-file');
mkdirSync(join(dir, 'src'));
mkdirSync(join(dir, 'dest'));
const size = GB * 1024 ** 3;
const chunk = randomBytes(16 * 1024 * 1024);
const fd = openSync(join(dir, 'src', 'IMG_0001.MOV'), 'w');
for (let off = 0, i = 0; off < size; off += chunk.length, i++) {
  chunk.writeUInt32BE(i, 0); // no two 16 MiB blocks alike
  writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
}
closeSync(fd);
sync();
console.log(`# peak RSS copying one ${GB} GiB file — ${machine()}`);
await writeConfig(dir, {
  ledger: './state/ledger.sqlite',
  pipelines: { bench: { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './dest' } }] } },
});
const r = await keepsake(['run'], { cwd: dir, env: { KEEPSAKE_DATA_DIR: join(dir, 'state', 'data') } });
const c = reportCounts(r.stdout);
if (r.code !== 0 || c.copied !== 1) throw new Error(`run failed:\n${r.stdout}\n${r.stderr}`);
const cmp = spawnSync('cmp', [join(dir, 'src', 'IMG_0001.MOV'), ...spawnSync('find', [join(dir, 'dest'), '-name', 'IMG_0001.MOV']).stdout.toString().trim().split('\n')]);
console.log(`copy: ${secs(r.wallMs)}, ${(size / 1e6 / (r.wallMs / 1000)).toFixed(0)} MB/s, identical: ${cmp.status === 0}`);
console.log(`load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(`RESULT big-file-rss size=${size} peakRss=${mb(r.maxRssBytes)} target<250 MB ${r.maxRssBytes < 250 * 1e6 && cmp.status === 0 ? 'PASS' : 'FAIL'}`);
rmSync(dir, { recursive: true, force: true });
