/**
 * AFC throughput against the simulated iPhone, compared in the same run with a raw loopback
 * socket that sends the very same bytes (same generator, same 1 MiB pieces).
 *
 *   node bench/usb/afc-throughput.ts [--mb 1024] [--files 5000]
 *
 * Needs `pnpm --filter @keepsake/device-sim... build` first (it imports the built packages).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findFixturesDir, type SimFs, Simulator, taggedContent } from '../../packages/device-sim/dist/index.js';
import { createIphoneSource, openAfc, UsbmuxClient } from '../../packages/transport-usb/dist/index.js';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '1024' }, files: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '3' }, hash: { type: 'boolean', default: false } },
});
const rounds = Number(values.rounds);
const bigBytes = Number(values.mb) * 1024 * 1024;
const smallCount = Number(values.files);
const CHUNK = 1024 * 1024;

const fixtures = findFixturesDir();
const video = readFileSync(join(fixtures, 'video/meta.mov'));
const smallJpeg = readFileSync(join(fixtures, 'edge-cases/noexif.jpg'));

// A camera roll made for the benchmark: one big video and many small photos.
const fs: SimFs = { dirs: new Map([['/', ['DCIM']], ['/DCIM', []]]), files: new Map() };
const add = (path: string, content: ReturnType<typeof taggedContent>) => {
  const dir = path.slice(0, path.lastIndexOf('/'));
  if (!fs.dirs.has(dir)) {
    fs.dirs.set(dir, []);
    fs.dirs.get('/DCIM')?.push(dir.slice(6));
  }
  fs.dirs.get(dir)?.push(path.slice(dir.length + 1));
  fs.files.set(path, { path, content, mtimeMs: Date.UTC(2024, 0, 1), birthtimeMs: Date.UTC(2024, 0, 1) });
};
const big = taggedContent(video, 'bench-big', bigBytes, 42);
add('/DCIM/100APPLE/IMG_0001.MOV', big);
for (let i = 0; i < smallCount; i++) {
  const folder = 101 + Math.floor(i / 1000);
  add(`/DCIM/${folder}APPLE/IMG_${String((i % 9999) + 1).padStart(4, '0')}.JPG`, taggedContent(smallJpeg, `small-${i}`, 0, 42));
}

const sink = () => {
  const h = values.hash ? createHash('sha256') : undefined;
  let n = 0;
  return {
    add(c: Uint8Array) {
      n += c.length;
      h?.update(c);
    },
    get bytes() {
      return n;
    },
    digest: () => h?.digest('hex'),
  };
};

/** Baseline: the same bytes from the same generator, over a plain socket of the same kind (Unix or TCP). */
async function rawLoopback(kind: 'unix' | 'tcp'): Promise<{ ms: number; bytes: number; digest?: string }> {
  const server = net.createServer(async (s) => {
    for (let off = 0; off < big.size; off += CHUNK) {
      if (!s.write(big.read(off, CHUNK))) await new Promise((r) => s.once('drain', r));
    }
    s.end();
  });
  const sockPath = join(tmpdir(), `keepsake-bench-${process.pid}.sock`);
  if (kind === 'unix') await new Promise<void>((r) => server.listen(sockPath, r));
  else await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = kind === 'tcp' ? (server.address() as net.AddressInfo).port : 0;
  const out = sink();
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const c = kind === 'unix' ? net.connect(sockPath) : net.connect(port, '127.0.0.1');
    c.on('data', (d: Buffer) => out.add(d));
    c.on('end', resolve);
    c.on('error', reject);
  });
  const ms = performance.now() - start;
  server.close();
  return { ms, bytes: out.bytes, digest: out.digest() };
}

const mbps = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
/** Wall time and this process's CPU time (server and client both run here) of one copy. */
async function timed(fn: () => Promise<void>): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - t0, cpuMs: (used.user + used.system) / 1000 };
}
const bigResults: Record<string, unknown> = {};
for (const kind of ['unix', 'tcp'] as const) {
  const s = await Simulator.start(kind === 'tcp' ? { tcpPort: 0, devices: [{ name: 'Bench Phone', fs }] } : { devices: [{ name: 'Bench Phone', fs }] });
  const mux = new UsbmuxClient({ env: s.env() });
  const [dev] = await mux.listDevices();
  if (!dev) throw new Error('simulator shows no device');
  const client = await openAfc(mux, dev);
  const perRound: { rawMiBps: number; afcMiBps: number; wallRatio: number; cpuRatio: number }[] = [];
  // Raw and AFC alternate, so load from other processes hits both alike.
  for (let round = 0; round < rounds; round++) {
    let raw!: Awaited<ReturnType<typeof rawLoopback>>;
    const rawT = await timed(async () => {
      raw = await rawLoopback(kind);
    });
    const afcOut = sink();
    const afcT = await timed(async () => {
      for await (const c of client.readFile('/DCIM/100APPLE/IMG_0001.MOV', { chunkSize: CHUNK, expectedSize: big.size })) afcOut.add(c);
    });
    if (afcOut.bytes !== big.size || raw.bytes !== big.size) throw new Error(`byte counts differ: afc ${afcOut.bytes}, raw ${raw.bytes}, want ${big.size}`);
    if (values.hash && afcOut.digest() !== raw.digest) throw new Error('AFC bytes differ from the raw copy');
    perRound.push({
      rawMiBps: Math.round(mbps(big.size, rawT.ms)),
      afcMiBps: Math.round(mbps(big.size, afcT.ms)),
      wallRatio: Number((rawT.ms / afcT.ms).toFixed(2)),
      cpuRatio: Number((rawT.cpuMs / afcT.cpuMs).toFixed(2)),
    });
  }
  bigResults[kind] = {
    rounds: perRound,
    medianWallRatio: median(perRound.map((r) => r.wallRatio)),
    medianCpuRatio: median(perRound.map((r) => r.cpuRatio)),
    bestRawMiBps: Math.max(...perRound.map((r) => r.rawMiBps)),
    bestAfcMiBps: Math.max(...perRound.map((r) => r.afcMiBps)),
  };
  client.close();
  await s.stop();
}

const sim = await Simulator.start({ devices: [{ name: 'Bench Phone', fs }] });
const usbmux = new UsbmuxClient({ env: sim.env() });
const [device] = await usbmux.listDevices();
if (!device) throw new Error('simulator shows no device');
const afc = await openAfc(usbmux, device);
const logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => logger };
const afcRates: number[] = [];
const sourceRates: number[] = [];
let smallFiles = 0;
let sourceFiles = 0;
for (let round = 0; round < rounds; round++) {
  // Small files, AFC level: list every folder, stat and read every file, one after another.
  let start = performance.now();
  smallFiles = 0;
  for (const folder of await afc.readDir('/DCIM')) {
    if (folder === '100APPLE') continue;
    for (const name of await afc.readDir(`/DCIM/${folder}`)) {
      const path = `/DCIM/${folder}/${name}`;
      const info = await afc.getFileInfo(path);
      const out = sink();
      for await (const c of afc.readFile(path, { expectedSize: info.size })) out.add(c);
      smallFiles++;
    }
  }
  afcRates.push(Math.round(smallFiles / ((performance.now() - start) / 1000)));

  // The whole `iphone` source: scan (grouping + capture-date metadata) and read every file.
  const source = await createIphoneSource({ env: sim.env(), logger });
  start = performance.now();
  sourceFiles = 0;
  for await (const asset of source.scan({ signal: new AbortController().signal, logger, reportTotals() {} })) {
    for (const r of asset.resources) {
      if ((r.size ?? 0) > 10 * 1024 * 1024) continue;
      for await (const _ of r.open()) {
        // drain
      }
      sourceFiles++;
    }
  }
  sourceRates.push(Math.round(sourceFiles / ((performance.now() - start) / 1000)));
  await source.close?.();
}
afc.close();
await sim.stop();

const result = {
  bigFileMiB: bigBytes / 1024 / 1024,
  bigFile: bigResults,
  smallFiles,
  afcSmallFilesPerSecond: { rounds: afcRates, median: median(afcRates) },
  sourceSmallFiles: sourceFiles,
  sourceFilesPerSecond: { rounds: sourceRates, median: median(sourceRates) },
  hashed: values.hash,
  node: process.version,
  loadAverage: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(1))),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
