/**
 * folder → folder copy + verify throughput: keepsake's folder source and sink (scan with metadata,
 * sha256 while writing, fsync, no-clobber rename, read-back hash) against `cp -r` on the same
 * files in the same run, and against `cp -r` followed by `sync` (cp does not fsync).
 *
 *   node bench/folder/run.ts [--files 64] [--mib 8] [--rounds 3] [--concurrency 4]
 *
 * Needs builds of packages/media and packages/plugin-folder (pnpm --filter ... build).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
const folder = await import(join(root, 'packages/plugin-folder/dist/index.js'));
const core = await import(join(root, 'packages/plugin-folder/node_modules/@keepsake/core/dist/index.js'));

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '64' },
    mib: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
  },
});
const FILES = Number(values.files);
const MIB = Number(values.mib);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const WORK = join(root, 'bench/.work/folder');
const SRC = join(WORK, 'src');
const FIXTURE = '/work/shared/fixtures/real/live-photo/train.jpg';

/** A camera roll: half Live Photo pairs (a real JPEG still with EXIF + a big .MOV), half big stills. */
function makeSource(): number {
  rmSync(WORK, { recursive: true, force: true });
  const dir = join(SRC, 'DCIM/100APPLE');
  mkdirSync(dir, { recursive: true });
  const blob = randomBytes(MIB * 1024 * 1024);
  let bytes = 0;
  for (let i = 1; i <= FILES; i++) {
    const n = String(i).padStart(4, '0');
    blob.writeUInt32BE(i, 0); // distinct content per file
    if (i % 2 === 0) {
      copyFileSync(FIXTURE, join(dir, `IMG_${n}.JPG`));
      writeFileSync(join(dir, `IMG_${n}.MOV`), blob);
      bytes += blob.byteLength + 3478530;
    } else {
      writeFileSync(join(dir, `IMG_${n}.HEIC`), blob);
      bytes += blob.byteLength;
    }
  }
  return bytes;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

/** CPU seconds (user + system) of the last measured run. */
let lastCpu = 0;

function cp(dest: string, withSync: boolean): number {
  rmSync(dest, { recursive: true, force: true });
  return time(() => {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'cp', '-r', SRC, dest], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
    const [u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    lastCpu = u! + s!;
    if (withSync) spawnSync('sync');
  });
}

async function keepsake(dest: string, verify: 'read-back' | 'none'): Promise<{ seconds: number; stored: number; verified: number }> {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const signal = new AbortController().signal;
  const fctx = { logger: core.silentLogger, secrets: {}, storageDir: WORK, configDir: WORK, signal, env: {} };
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const source = await folder.folderSource.create({ path: SRC, recursive: true }, fctx);
  const sink = await folder.folderSink.create({ path: dest, template: '{yyyy}/{MM}', verify }, fctx);
  const putCtx = { signal, logger: core.silentLogger, resume: { load: () => undefined, save() {}, clear() {} }, onProgress() {}, tempDir: WORK };
  let stored = 0;
  let verified = 0;
  const inflight = new Set<Promise<void>>();
  for await (const asset of source.scan({ signal, logger: core.silentLogger, reportTotals() {} })) {
    const p = sink.put(asset, putCtx).then((r: { items: { size: number; verified: boolean }[] }) => {
      for (const i of r.items) {
        stored += i.size;
        if (i.verified) verified++;
      }
    });
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    if (inflight.size >= CONCURRENCY) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const cpu = process.cpuUsage(cpu0);
  lastCpu = (cpu.user + cpu.system) / 1e6;
  return { seconds: (performance.now() - t) / 1000, stored, verified };
}

const loadBefore = loadavg();
/** The floor for any copier that hashes: read, sha256, write; 4 files at a time, no fsync, no metadata. */
async function hashingCopy(dest: string): Promise<number> {
  rmSync(dest, { recursive: true, force: true });
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => files.push(p))(join(d, e.name));
  };
  walk(SRC);
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    const buf = Buffer.allocUnsafe(1 << 20);
    while (next < files.length) {
      const from = files[next++]!;
      const to = join(dest, from.slice(SRC.length));
      mkdirSync(join(to, '..'), { recursive: true });
      const h = createHash('sha256');
      const src = await open(from, 'r');
      const out = await open(to, 'w');
      for (let pos = 0; ; ) {
        const { bytesRead } = await src.read(buf, 0, buf.byteLength, pos);
        if (bytesRead === 0) break;
        h.update(buf.subarray(0, bytesRead));
        await out.write(buf, 0, bytesRead, pos);
        pos += bytesRead;
      }
      await src.close();
      await out.close();
      h.digest('hex');
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const cpu = process.cpuUsage(cpu0);
  lastCpu = (cpu.user + cpu.system) / 1e6;
  return (performance.now() - t) / 1000;
}

const total = makeSource();
const mibTotal = total / 1048576;
console.log(`dataset: ${FILES} assets, ${mibTotal.toFixed(0)} MiB; rounds ${ROUNDS}; concurrency ${CONCURRENCY}`);
const names = ['cp', 'cp+sync', 'node read+sha256+write (floor)', 'keepsake', 'keepsake (verify none)'];
const runs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const cpus: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  runs.cp!.push(cp(join(WORK, 'dst-cp'), false));
  cpus.cp!.push(lastCpu);
  const k = await keepsake(join(WORK, 'dst-ks'), 'read-back');
  if (k.stored !== total) throw new Error(`keepsake stored ${k.stored} of ${total} bytes`);
  runs.keepsake!.push(k.seconds);
  cpus.keepsake!.push(lastCpu);
  runs['cp+sync']!.push(cp(join(WORK, 'dst-cp'), true));
  cpus['cp+sync']!.push(lastCpu);
  runs['keepsake (verify none)']!.push((await keepsake(join(WORK, 'dst-ks'), 'none')).seconds);
  cpus['keepsake (verify none)']!.push(lastCpu);
  runs['node read+sha256+write (floor)']!.push(await hashingCopy(join(WORK, 'dst-node')));
  cpus['node read+sha256+write (floor)']!.push(lastCpu);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows = Object.entries(runs).map(([name, xs]) => ({ name, s: median(xs), mibps: mibTotal / median(xs), cpu: median(cpus[name]!) }));
const cpRate = rows.find((r) => r.name === 'cp')!.mibps;
const cpSyncRate = rows.find((r) => r.name === 'cp+sync')!.mibps;
console.log(`load average before: ${loadBefore.map((l) => l.toFixed(1)).join(' ')}, after: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${availableParallelism()} cores)`);
console.log('| method | median wall s | MiB/s | vs cp | vs cp+sync | CPU s (user+sys) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.name} | ${r.s.toFixed(2)} | ${r.mibps.toFixed(0)} | ${(r.mibps / cpRate).toFixed(2)}× | ${(r.mibps / cpSyncRate).toFixed(2)}× | ${r.cpu.toFixed(2)} |`);
rmSync(WORK, { recursive: true, force: true });
