/**
 * Peak memory of the uploader while the onedrive sink streams one large generated file (4 GiB by
 * default) through an upload session to the fake Graph running in another process. The reference
 * is the same process's RSS just before the upload starts.
 *
 *   node bench/cloud/rss.ts [--gib 4] [--fragment-mib 10]
 *
 * Needs builds of packages/transport-cloud and packages/plugin-onedrive.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { generatedResource, MiB, putContext, signedInSink, startFakeProcess } from './common.ts';

const { values } = parseArgs({ options: { gib: { type: 'string', default: '4' }, 'fragment-mib': { type: 'string', default: '10' } } });
const SIZE = Math.round(Number(values.gib) * 1024 * MiB);
const FRAGMENT = Math.floor((Number(values['fragment-mib']) * MiB) / (320 * 1024)) * 320 * 1024;

const fake = await startFakeProcess(0, 0);
const { sink, close } = await signedInSink(fake, { fragmentSize: FRAGMENT });
const block = randomBytes(MiB);
globalThis.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
let peakHeap = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peak = Math.max(peak, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 50);
const started = performance.now();
const asset = { id: 'big', kind: 'video', capturedAt: { local: '2024-06-01T12:00:00', offset: '+00:00', source: 'quicktime' }, resources: [generatedResource('BIG.MOV', SIZE, block)] };
const r = await sink.put(asset, putContext());
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
// maxRSS (KiB) is the kernel's high-water mark: it catches peaks between samples.
peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
await close();
const server = await fake.stop();
const mib = (b: number) => (b / MiB).toFixed(0);
console.log(`\nuploaded ${mib(SIZE)} MiB in ${seconds.toFixed(1)} s (${(SIZE / MiB / seconds).toFixed(1)} MiB/s), fragments ${FRAGMENT / MiB} MiB, verified: ${r.items[0].verified}`);
console.log('| measure | MiB |\n| --- | ---: |');
console.log(`| RSS before upload (reference) | ${mib(baseline)} |`);
console.log(`| peak RSS during upload | ${mib(peak)} |`);
console.log(`| peak RSS − reference | ${mib(peak - baseline)} |`);
console.log(`| peak JS heap used | ${mib(peakHeap)} |`);
console.log(`| fake server (other process) peak RSS | ${server.maxRssMiB} |`);
if (server.stats.uploadBytes !== SIZE) throw new Error(`server received ${server.stats.uploadBytes} of ${SIZE} bytes`);
