/**
 * OneDrive upload throughput over a loopback fake shaped to a fixed bandwidth with a fixed
 * per-request latency, against (a) the shaped capacity and (b) raw undici PUTs of the same bytes
 * (one whole-file fragment each, same parallelism) measured in the same run.
 *
 *   node bench/cloud/throughput.ts [--mibps 20] [--latency 50] [--files 12] [--mib 20] [--concurrency 4] [--fragment-mib 10]
 *
 * Needs builds of packages/transport-cloud and packages/plugin-onedrive.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatedResource, MiB, putContext, root, signedInSink, startFakeProcess } from './common.ts';

const { request } = await import(join(root, 'packages/transport-cloud/node_modules/undici/index.js'));
const { values } = parseArgs({
  options: {
    mibps: { type: 'string', default: '20' },
    latency: { type: 'string', default: '50' },
    files: { type: 'string', default: '12' },
    mib: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '4' },
    'fragment-mib': { type: 'string', default: '10' },
  },
});
const BPS = Number(values.mibps) * MiB;
const LATENCY = Number(values.latency);
const FILES = Number(values.files);
const SIZE = Number(values.mib) * MiB;
const CONC = Number(values.concurrency);
const FRAGMENT = Math.floor((Number(values['fragment-mib']) * MiB) / (320 * 1024)) * 320 * 1024;
const block = randomBytes(MiB);

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) await fn(t);
  }));
}

/** keepsake's sink: planning GETs, createUploadSession, fragments, verification. */
async function runSink(concurrency: number, label: string) {
  const fake = await startFakeProcess(BPS, LATENCY);
  const { sink, close } = await signedInSink(fake, { fragmentSize: FRAGMENT, concurrency });
  const names = Array.from({ length: FILES }, (_, i) => `${label}-${i}.MOV`);
  const started = performance.now();
  await pool(names, concurrency, async (name) => {
    const asset = { id: name, kind: 'video', capturedAt: { local: '2024-06-01T12:00:00', offset: '+00:00', source: 'exif' }, resources: [generatedResource(name, SIZE, block)] };
    const r = await sink.put(asset, putContext());
    if (!r.items[0].verified) throw new Error(`${name} not verified`);
  });
  const seconds = (performance.now() - started) / 1000;
  await close();
  const server = await fake.stop();
  return { seconds, bytes: FILES * SIZE, server };
}

/** The floor: one createUploadSession + one whole-file PUT per file, same parallelism, no hashing. */
async function runRaw(concurrency: number) {
  const fake = await startFakeProcess(BPS, LATENCY);
  const auth = { authorization: `Bearer ${fake.tokens.access_token}` };
  const names = Array.from({ length: FILES }, (_, i) => `raw-${i}.MOV`);
  const started = performance.now();
  await pool(names, concurrency, async (name) => {
    const s = await request(`${fake.endpoint}/me/drive/root:/raw/${name}:/createUploadSession`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    const { uploadUrl } = (await s.body.json()) as { uploadUrl: string };
    const body = generatedResource(name, SIZE, block).open();
    const r = await request(uploadUrl, { method: 'PUT', headers: { 'content-length': String(SIZE), 'content-range': `bytes 0-${SIZE - 1}/${SIZE}` }, body });
    await r.body.dump();
    if (r.statusCode !== 201) throw new Error(`raw upload answered ${r.statusCode}`);
  });
  const seconds = (performance.now() - started) / 1000;
  await fake.stop();
  return { seconds, bytes: FILES * SIZE };
}

const mibps = (r: { bytes: number; seconds: number }) => r.bytes / MiB / r.seconds;
const capacity = BPS / MiB;
const raw = await runRaw(CONC);
const parallel = await runSink(CONC, 'par');
const serial = await runSink(1, 'ser');
const rows = [
  ['shaped capacity', capacity, 1],
  [`raw undici, ${CONC} parallel whole-file PUTs`, mibps(raw), mibps(raw) / capacity],
  [`keepsake onedrive sink, ${CONC} files in parallel`, mibps(parallel), mibps(parallel) / capacity],
  ['keepsake onedrive sink, 1 file at a time', mibps(serial), mibps(serial) / capacity],
] as const;
console.log(`\n${FILES} files × ${values.mib} MiB, fragments ${FRAGMENT / MiB} MiB, link ${values.mibps} MiB/s + ${LATENCY} ms per request\n`);
console.log('| upload | MiB/s | of capacity |\n| --- | ---: | ---: |');
for (const [label, v, f] of rows) console.log(`| ${label} | ${v.toFixed(1)} | ${(f * 100).toFixed(1)}% |`);
console.log(`\nserver saw ${parallel.server.stats.uploadBytes} fragment bytes for ${parallel.bytes} file bytes (parallel run); largest request body ${(parallel.server.stats.maxUploadBodyBytes / MiB).toFixed(1)} MiB`);
