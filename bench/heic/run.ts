/**
 * HEIC → JPEG benchmark: keepsake (`heic-to-jpeg`, ffmpeg, native and wasm decoders) vs the native
 * reference `heif-convert` vs plain `heic-convert` (npm), same images, same run; then peak RSS
 * while converting 200 photos through the transform.
 *
 *   node bench/heic/run.ts [--rounds 2] [--photos 200] [--skip-rss | --only-rss] [--decoders ffmpeg,native,wasm]
 *
 * Needs a build of packages/plugin-heic (pnpm --filter @keepsake/plugin-heic build).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
const heicPkg = join(root, 'packages/plugin-heic');
const plugin = await import(join(heicPkg, 'dist/index.js'));
const requireFromPlugin = createRequire(join(heicPkg, 'package.json'));

const FIXTURES = join(process.env.KEEPSAKE_FIXTURES ?? new URL('../../../shared/fixtures/real', import.meta.url).pathname, 'heic');
const IMAGES = ['IMG_2682.heic', 'IMG_2927.HEIC', 'Issue_263_dotnet.heic'].map((n) => join(FIXTURES, n));
const WORK = join(root, 'bench/.work/heic');
const QUALITY = 92;
const CORES = availableParallelism();
type Decoder = 'ffmpeg' | 'native' | 'wasm';
const { resolveFfmpeg } = await import(join(root, 'packages/media/dist/index.js'));
const ffmpeg: string = resolveFfmpeg(process.env).path;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    photos: { type: 'string', default: '200' },
    'skip-rss': { type: 'boolean', default: false },
    'only-rss': { type: 'boolean', default: false },
    decoders: { type: 'string', default: 'ffmpeg,native,wasm' },
    'rss-child': { type: 'string' },
    decoder: { type: 'string', default: 'wasm' },
  },
});

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(file, args, (err) => (err ? reject(err) : resolve())));
}

/** Runs `jobs` with at most `parallel` in flight; returns conversions per second. */
async function throughput(jobs: (() => Promise<unknown>)[], parallel: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < jobs.length) await (jobs[next++] as () => Promise<unknown>)();
    }),
  );
  return jobs.length / ((performance.now() - started) / 1000);
}

function jobsFor(rounds: number, make: (input: string, i: number) => () => Promise<unknown>) {
  const out: (() => Promise<unknown>)[] = [];
  for (let r = 0; r < rounds; r++) for (const [i, img] of IMAGES.entries()) out.push(make(img, r * IMAGES.length + i));
  return out;
}

async function rssChild(decoder: string, photos: number): Promise<void> {
  // Runs in its own process so its peak RSS is the transform's alone.
  const dir = join(WORK, 'photos');
  const names = readdirSync(dir).slice(0, photos);
  const { silentLogger, readFileStream } = await import(join(root, 'packages/core/dist/index.js'));
  const transform = plugin.createHeicToJpegTransform({ decoder }, { logger: silentLogger });
  const tempRoot = join(WORK, `tmp-${decoder}`);
  let childPeakKb = 0;
  let done = 0;
  const timeline: string[] = [];
  const sampler = setInterval(() => {
    // ffmpeg / heif-convert children are separate processes: add the RSS of our own.
    let kb = 0;
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        if (/^PPid:\s+(\d+)/m.exec(status)?.[1] === String(process.pid)) kb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      } catch {}
    }
    childPeakKb = Math.max(childPeakKb, kb);
  }, 50);
  // RSS after 10 %, 25 %, 50 %, 100 % of the photos: flat means bounded.
  const marks = new Set([0.1, 0.25, 0.5, 1].map((f) => Math.round(f * names.length)));
  const started = performance.now();
  let bytes = 0;
  let next = 0;
  // The pipeline may offer many assets at once; the pool still converts only `cores` at a time.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < names.length) {
        const name = names[next++] as string;
        const path = join(dir, name);
        const resource = { role: 'original', name, key: path, size: statSync(path).size, mtimeMs: 0, mediaType: 'image/heic', open: (o: { offset?: number } = {}) => readFileStream(path, o) };
        // One temp folder per asset here, so it can be removed as soon as the JPEG was read.
        const ctx = { signal: new AbortController().signal, logger: silentLogger, tempDir: join(tempRoot, name) };
        const asset = await transform.apply({ id: name, kind: 'photo', resources: [resource] }, ctx);
        for await (const chunk of asset.resources[1].open()) bytes += chunk.byteLength;
        rmSync(ctx.tempDir, { recursive: true, force: true });
        if (marks.has(++done)) timeline.push(`${done}: ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB`);
      }
    }),
  );
  clearInterval(sampler);
  await transform.close();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ decoder, photos: names.length, seconds, bytes, maxRssMb: process.resourceUsage().maxRSS / 1024, childPeakMb: childPeakKb / 1024, timeline }));
}

if (values['rss-child']) {
  await rssChild(values.decoder as string, Number(values['rss-child']));
  process.exit(0);
}

const rounds = Number(values.rounds);
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const tools = await plugin.findHeifTools(undefined, process.env);
if (!tools) throw new Error('heif-convert is needed for the reference numbers');
const results: Record<string, number> = {};
const out = (tag: string, i: number) => join(WORK, `${tag}-${i}.jpg`);

console.log(`machine: ${CORES} cores (${cpus()[0]?.model}), node ${process.version}; ${IMAGES.length} iPhone 12 MP HEICs × ${rounds} rounds, quality ${QUALITY}`);

if (!values['only-rss']) {
// The machine is shared, so load drifts during a run: contenders take turns image by image
// (interleaved), and each one's time is the sum of its own conversions.
const heicConvert = requireFromPlugin('heic-convert') as (o: { buffer: Buffer; format: 'JPEG'; quality: number }) => Promise<ArrayBuffer>;
const decoders = (values.decoders as string).split(',') as Decoder[];
const job = (decoder: Decoder, img: string, output: string, workDir: string) => ({ input: img, output, quality: QUALITY, decoder, tools, ...(decoder === 'ffmpeg' ? { ffmpeg } : {}), workDir });
const pools = Object.fromEntries(decoders.map((d) => [d, new plugin.ConversionPool(1)]));
const ksJob = async (decoder: Decoder, img: string, i: number) => {
  const result = await pools[decoder].run(job(decoder, img, out(`ks-${decoder}`, i), join(WORK, `w-${decoder}-${i}`)));
  if (result.decoder !== decoder) throw new Error(`${decoder} handed ${img} to ${result.decoder}: ${result.fallbackReason}`);
};
const single: Record<string, (img: string, i: number) => Promise<unknown>> = {
  'heif-convert (native CLI)': (img, i) => run(tools.heifConvert, ['--quiet', '-q', String(QUALITY), img, out('ref', i)]),
  ...Object.fromEntries(decoders.map((d) => [`keepsake ${d}`, (img: string, i: number) => ksJob(d, img, i)])),
  'heic-convert (npm)': async (img, i) => writeFileSync(out('npm', i), Buffer.from(await heicConvert({ buffer: readFileSync(img), format: 'JPEG', quality: QUALITY / 100 }))),
};
for (const d of decoders) await ksJob(d, IMAGES[0] as string, 999); // start workers, load wasm
const seconds: Record<string, number> = Object.fromEntries(Object.keys(single).map((k) => [k, 0]));
let count = 0;
for (let r = 0; r < rounds; r++) {
  for (const img of IMAGES) {
    count++;
    for (const [name, fn] of Object.entries(single)) {
      const t = performance.now();
      await fn(img, count);
      seconds[name] = (seconds[name] as number) + (performance.now() - t) / 1000;
    }
  }
}
for (const pool of Object.values(pools)) await pool.close();
console.log(`\nOne conversion at a time (per core), ${count} conversions each, interleaved:`);
for (const [name, s] of Object.entries(seconds)) {
  results[`${name} ×1`] = count / s;
  console.log(`  ${name.padEnd(28)} ${(count / s).toFixed(3)} conversions/s  (${((s / count) * 1000).toFixed(0)} ms each)`);
}

// All cores: keepsake's pool of N workers vs N parallel heif-convert processes vs plain heic-convert
// (one at a time, as it runs), in alternating blocks of one round each so load drift hits all alike.
console.log(`\nAll ${CORES} cores, alternating blocks (${CORES * IMAGES.length} conversions per block for parallel contenders, ${IMAGES.length} for heic-convert), ${rounds * 2} blocks each:`);
const parallelPools = Object.fromEntries(decoders.map((d) => [d, new plugin.ConversionPool(CORES)]));
for (const [decoder, pool] of Object.entries(parallelPools)) {
  await Promise.all(Array.from({ length: CORES }, (_, i) => pool.run(job(decoder as Decoder, IMAGES[0] as string, out('warm', i), join(WORK, `warm-${decoder}-${i}`)))));
}
// Parallel contenders get CORES rounds per block (a multiple of the workers: 3 images on 2 workers
// would leave one worker idle for the last image); heic-convert runs one at a time anyway.
const blocks: Record<string, { jobs: () => (() => Promise<unknown>)[]; parallel: number }> = {
  ...Object.fromEntries(
    decoders.map((d) => [`keepsake ${d} ×${CORES}`, { jobs: () => jobsFor(CORES, (img, i) => () => parallelPools[d].run(job(d, img, out(`ksp-${d}`, i), join(WORK, `wp-${d}-${i}`)))), parallel: CORES }]),
  ),
  [`heif-convert ×${CORES}`]: { jobs: () => jobsFor(CORES, (img, i) => () => run(tools.heifConvert, ['--quiet', '-q', String(QUALITY), img, out('refp', i)])), parallel: CORES },
  'heic-convert (npm) as it runs': { jobs: () => jobsFor(1, (img, i) => () => single['heic-convert (npm)'](img, 100 + i)), parallel: 1 },
};
const blockSeconds: Record<string, number> = Object.fromEntries(Object.keys(blocks).map((k) => [k, 0]));
const blockJobs: Record<string, number> = Object.fromEntries(Object.keys(blocks).map((k) => [k, 0]));
for (let b = 0; b < rounds * 2; b++) {
  for (const [name, block] of Object.entries(blocks)) {
    const jobs = block.jobs();
    blockSeconds[name] = (blockSeconds[name] as number) + jobs.length / (await throughput(jobs, block.parallel));
    blockJobs[name] = (blockJobs[name] as number) + jobs.length;
  }
}
for (const pool of Object.values(parallelPools)) await pool.close();
for (const [name, s] of Object.entries(blockSeconds)) {
  results[name] = (blockJobs[name] as number) / s;
  console.log(`  ${name.padEnd(32)} ${(results[name] as number).toFixed(3)} conversions/s`);
}

const r = (a: string, b: string) => ((results[a] as number) / (results[b] as number)).toFixed(2);
console.log('\nRatios:');
for (const d of decoders) {
  console.log(`  keepsake ${d} / heif-convert, per core: ${r(`keepsake ${d} ×1`, 'heif-convert (native CLI) ×1')}×`);
  console.log(`  keepsake ${d} / heic-convert (npm), per core: ${r(`keepsake ${d} ×1`, 'heic-convert (npm) ×1')}×`);
  console.log(`  keepsake ${d} ×${CORES} / heif-convert ×${CORES}: ${r(`keepsake ${d} ×${CORES}`, `heif-convert ×${CORES}`)}×`);
  console.log(`  keepsake ${d} ×${CORES} / heic-convert (npm, as it runs): ${r(`keepsake ${d} ×${CORES}`, 'heic-convert (npm) as it runs')}×`);
}

}

if (!values['skip-rss']) {
  const photos = Number(values.photos);
  const dir = join(WORK, 'photos');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < photos; i++) copyFileSync(IMAGES[i % IMAGES.length] as string, join(dir, `IMG_${String(i).padStart(4, '0')}.HEIC`));
  for (const decoder of (values.decoders as string).split(',')) {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--rss-child', String(photos), '--decoder', decoder], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    await new Promise((resolve) => child.on('exit', resolve));
    const r = JSON.parse(text);
    console.log(`${photos} photos, decoder ${decoder}: ${r.seconds.toFixed(1)} s (${(r.photos / r.seconds).toFixed(2)}/s), peak RSS ${r.maxRssMb.toFixed(0)} MB (node process) + ${r.childPeakMb.toFixed(0)} MB (its ffmpeg or heif-convert child processes at peak); RSS after n photos: ${r.timeline.join(', ')}`);
  }
}
rmSync(WORK, { recursive: true, force: true });
