/**
 * `verify` of a ~2 GB folder sink vs `sha256sum` of the same files (issue 9 target: ≥ 0.8×).
 *
 * 1. Writes a folder source of --files × --mib MiB deterministic files (AES-CTR keystream, so
 *    every run has the same bytes and nothing compresses or dedupes).
 * 2. Delivers them to a folder sink with runConfiguredPipeline, the folder plugin loaded through a
 *    PluginHost (found from bench/package.json), into an on-disk ledger.
 * 3. With the sink's files in the page cache (a warm-up pass of every contender first), times per
 *    round, interleaved so load on the shared machine hits all alike:
 *      - verifyDeliveries (the `keepsake verify` engine) at its default concurrency 2, and at 1;
 *      - `sha256sum FILES…` (one process: what a user would type);
 *      - `xargs -P2 sha256sum` (two processes, the fair 2-core reference);
 *      - `openssl dgst -sha256 FILES…` (one process, OpenSSL's SHA-NI code like Node's).
 *    Every contender's hashes are checked against the ledger's.
 * 4. Deletes the data (unless --keep).
 *
 *   node bench/safety/verify.ts [--files 40] [--mib 50] [--rounds 3]
 */
import { createCipheriv } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Ledger, type LoadedConfig, PluginHost, runConfiguredPipeline } from '@keepsake/core';
import { openConfiguredSinks, verifyDeliveries } from '@keepsake/safety';
import { describeMachine, median, spawnTimed } from './common.ts';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '40' },
    mib: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});
const FILES = Number(values.files);
const MIB = Number(values.mib);
const ROUNDS = Number(values.rounds);
const root = new URL('../../', import.meta.url).pathname;
const WORK = join(root, 'bench/.work/safety-verify');
const SRC = join(WORK, 'src');
const DEST = join(WORK, 'sink');
const BENCH_PKG = join(root, 'bench/package.json');

function makeSource(): number {
  const dir = join(SRC, 'DCIM/100APPLE');
  mkdirSync(dir, { recursive: true });
  const zeros = Buffer.alloc(MIB * 1024 * 1024);
  for (let i = 1; i <= FILES; i++) {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(i, 0);
    const c = createCipheriv('aes-128-ctr', Buffer.from('keepsake-bench-9'), iv);
    writeFileSync(join(dir, `IMG_${String(i).padStart(4, '0')}.MOV`), Buffer.concat([c.update(zeros), c.final()]));
  }
  return FILES * zeros.byteLength;
}

/** One timed run of a command in the sink's folder (the ledger's locations are relative to it). */
const timeCommand = (cmd: string, args: string[]) => spawnTimed(cmd, args, { cwd: DEST });

rmSync(WORK, { recursive: true, force: true });
mkdirSync(DEST, { recursive: true });
console.log(describeMachine());
const bytes = makeSource();
console.log(`source: ${FILES} × ${MIB} MiB = ${(bytes / 1e9).toFixed(2)} GB`);

// PluginHost.discover scans `dependencies` only; the bench declares plugins as devDependencies,
// so their folders (resolved from bench/package.json) are passed as plugin dirs.
const req = createRequire(BENCH_PKG);
const host = await PluginHost.discover({ pluginDirs: [dirname(req.resolve('@keepsake/plugin-folder/package.json'))] });
const loaded: LoadedConfig = {
  path: undefined,
  dir: WORK,
  config: { pipelines: { bench: { source: { use: 'folder', with: { path: SRC } }, sinks: [{ use: 'folder', with: { path: DEST } }] } } },
};
const ledger = Ledger.open(join(WORK, 'ledger.sqlite'));
const signal = new AbortController().signal;
const t = performance.now();
const run = await runConfiguredPipeline({ host, config: loaded, pipeline: 'bench', ledger, signal });
const deliverS = (performance.now() - t) / 1000;
if (run.failed || run.copied !== FILES) throw new Error(`delivery: ${run.copied} copied, ${run.failed} failed: ${JSON.stringify(run.failures[0])}`);
console.log(`delivered ${run.copied} files (${(run.bytesCopied / 1e9).toFixed(2)} GB) in ${deliverS.toFixed(1)} s (copy + fsync + read-back)`);

// the files as the ledger recorded them: what every contender must hash
const items = [...ledger.deliveries()].flatMap((d) => ledger.deliveryItems(d.id));
const files = items.map((i) => i.location); // relative to the sink's folder, where the commands run
const expected = new Map(items.map((i) => [i.location, i.hashes.sha256]));
const checkSums = (name: string, stdout: string, opensslFormat = false) => {
  const lines = stdout.trim().split('\n');
  if (lines.length !== files.length) throw new Error(`${name}: ${lines.length} lines for ${files.length} files`);
  for (const line of lines) {
    const m = opensslFormat ? /^SHA2?-?256\((.*)\)= ([0-9a-f]{64})$/.exec(line) : /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (!m) throw new Error(`${name}: cannot parse ${line}`);
    const [hash, file] = opensslFormat ? [m[2]!, m[1]!] : [m[1]!, m[2]!];
    if (expected.get(file) !== hash) throw new Error(`${name}: ${file} hashed ${hash}, ledger has ${expected.get(file)}`);
  }
};

const { sinks, close } = await openConfiguredSinks(host, loaded, { signal });
const keepsakeVerify = async (concurrency: number) => {
  const c = process.cpuUsage();
  const t0 = performance.now();
  const r = await verifyDeliveries({ ledger, sinks, signal, concurrency });
  const s = (performance.now() - t0) / 1000;
  const d = process.cpuUsage(c);
  if (r.ok !== FILES || r.findings.length) throw new Error(`verify: ${r.ok} ok, findings ${JSON.stringify(r.findings.slice(0, 3))}`);
  return { s, cpu: (d.user + d.system) / 1e6 };
};
const list = join(WORK, 'files.list');
writeFileSync(list, `${files.join('\0')}\0`);
const contenders: Record<string, () => Promise<{ s: number; cpu: number }>> = {
  'keepsake verify (concurrency 2, default)': () => keepsakeVerify(2),
  'keepsake verify (concurrency 1)': () => keepsakeVerify(1),
  'sha256sum FILES (1 process)': async () => {
    const r = timeCommand('sha256sum', files);
    checkSums('sha256sum', r.stdout);
    return r;
  },
  'xargs -P2 sha256sum (2 processes)': async () => {
    const r = timeCommand('sh', ['-c', `xargs -0 -P2 -n ${Math.ceil(files.length / 8)} sha256sum < '${list}'`]);
    checkSums('xargs sha256sum', r.stdout);
    return r;
  },
  'openssl dgst -sha256 FILES (1 process)': async () => {
    const r = timeCommand('openssl', ['dgst', '-sha256', ...files]);
    checkSums('openssl', r.stdout, true);
    return r;
  },
};
const results = new Map<string, { s: number; cpu: number }[]>(Object.keys(contenders).map((k) => [k, []]));
// warm-up: every contender once, so the page cache holds the sink's files for all of them
for (const fn of Object.values(contenders)) await fn();
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, fn] of Object.entries(contenders)) results.get(name)!.push(await fn());
}
await close();
ledger.close();
await host.dispose();

const mbps = (s: number) => bytes / 1e6 / s;
const table = [...results].map(([name, rs]) => ({ name, wall: rs.map((r) => r.s), cpu: rs.map((r) => r.cpu), median: median(rs.map((r) => r.s)), cpuMedian: median(rs.map((r) => r.cpu)) }));
const sha = table.find((r) => r.name.startsWith('sha256sum'))!;
console.log(`\n${'contender'.padEnd(42)} ${'wall s per round'.padEnd(24)} median   MB/s   vs sha256sum   CPU s (median)  MB per CPU s`);
for (const r of table) {
  console.log(
    `${r.name.padEnd(42)} ${r.wall.map((s) => s.toFixed(2)).join(' ').padEnd(24)} ${r.median.toFixed(2).padStart(6)} ${mbps(r.median).toFixed(0).padStart(6)} ${`${(sha.median / r.median).toFixed(2)}×`.padStart(12)}   ${r.cpuMedian.toFixed(2).padStart(14)}  ${(bytes / 1e6 / r.cpuMedian).toFixed(0).padStart(12)}`,
  );
}
if (!values.keep) rmSync(WORK, { recursive: true, force: true });
