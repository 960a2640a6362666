// Live Photo benchmarks: Motion Photo throughput and MOV → MP4 memory, keepsake CLI vs bare
// ffmpeg measured in the same run. Plain Node (type stripping): erasable syntax only.
//   node bench/livephoto/run.ts [pairs=20] [loops=150]
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../apps/cli/dist/bin.js', import.meta.url));
const WORK = fileURLToPath(new URL('../.work/livephoto/', import.meta.url));
const FIXTURES = '/work/shared/fixtures/real/live-photo';
const PAIRS = Number(process.argv[2] ?? 20);
const LOOPS = Number(process.argv[3] ?? 150);

interface Measured {
  code: number | null;
  wallMs: number;
  maxRssBytes: number;
  stderr: string;
}

/** Wall time and peak RSS (GNU time %M) of one command. */
function measure(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '__TIME__ %e %M', cmd, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const m = stderr.match(/__TIME__ ([\d.]+) (\d+)/);
      resolve({ code, wallMs: performance.now() - started, maxRssBytes: m ? Number(m[2]) * 1024 : Number.NaN, stderr });
    });
  });
}

function fresh(name: string): string {
  const d = join(WORK, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

function config(dir: string, transform: string): void {
  const cfg = {
    ledger: 'ledger.db',
    pipelines: { bench: { source: { use: 'folder', with: { path: 'in' } }, sinks: [{ use: 'folder', with: { path: 'out', template: '{yyyy}' }, transforms: [{ use: transform }] }] } },
  };
  writeFileSync(join(dir, 'keepsake.config.json'), JSON.stringify(cfg));
  mkdirSync(join(dir, 'out'), { recursive: true });
}

const mb = (b: number) => (b / 1048576).toFixed(1);
const env = (dir: string) => ({ KEEPSAKE_DATA_DIR: join(dir, 'data'), KEEPSAKE_CONFIG_DIR: join(dir, 'cfg') });

async function motionPhotoThroughput(): Promise<string[]> {
  const dir = fresh('motion-photo');
  mkdirSync(join(dir, 'in'));
  for (let i = 1; i <= PAIRS; i++) {
    const base = `IMG_${String(i).padStart(4, '0')}`;
    copyFileSync(join(FIXTURES, 'train.jpg'), join(dir, 'in', `${base}.JPG`));
    copyFileSync(join(FIXTURES, 'train.mov'), join(dir, 'in', `${base}.MOV`));
  }
  config(dir, 'live-to-motion-photo');
  // Reference: the floor of the same work with bare tools — one ffmpeg remux per pair, sequential.
  const refDir = fresh('motion-photo-ref');
  const refStart = performance.now();
  let refRss = 0;
  for (let i = 1; i <= PAIRS; i++) {
    const m = await measure('ffmpeg', ['-v', 'error', '-y', '-i', join(FIXTURES, 'train.mov'), '-map', '0:v:0', '-map', '0:a:0', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '192k', '-movflags', '+faststart', '-f', 'mp4', join(refDir, `${i}.mp4`)], refDir);
    refRss = Math.max(refRss, m.maxRssBytes);
  }
  const refMs = performance.now() - refStart;
  const run = await measure(process.execPath, [CLI, 'run', '--json'], dir, env(dir));
  if (run.code !== 0) throw new Error(`keepsake run failed: ${run.stderr.slice(-2000)}`);
  const made = spawnSync('sh', ['-c', `ls ${join(dir, 'out')}/*/ | grep -c 'MP.jpg$'`], { encoding: 'utf8' }).stdout.trim();
  if (Number(made) !== PAIRS) throw new Error(`expected ${PAIRS} Motion Photos, found ${made}`);
  return [
    `| Motion Photo, ${PAIRS} real pairs (train.jpg 3.4 MB + train.mov 1.5 MB) | keepsake CLI, folder → folder + live-to-motion-photo | ${(run.wallMs / 1000).toFixed(2)} s | ${(PAIRS / (run.wallMs / 1000)).toFixed(2)} pairs/s | ${mb(run.maxRssBytes)} MB (node) |`,
    `| same | bare ffmpeg remux only, sequential (floor) | ${(refMs / 1000).toFixed(2)} s | ${(PAIRS / (refMs / 1000)).toFixed(2)} pairs/s | ${mb(refRss)} MB (ffmpeg) |`,
  ];
}

async function bigMovMemory(): Promise<string[]> {
  const dir = fresh('big-mov');
  mkdirSync(join(dir, 'in'));
  const mov = join(dir, 'in', 'IMG_9000.MOV');
  // A long MOV made of the real clip looped (stream copy: H.264 + linear PCM, like an iPhone Live Photo).
  const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', String(LOOPS), '-i', join(FIXTURES, 'train.mov'), '-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', '-f', 'mov', mov]);
  if (made.status !== 0) throw new Error(String(made.stderr));
  const size = statSync(mov).size;
  config(dir, 'mov-to-mp4');
  const refDir = fresh('big-mov-ref');
  const ref = await measure('ffmpeg', ['-v', 'error', '-y', '-i', mov, '-map', '0:v:0', '-map', '0:a:0', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '192k', '-map_metadata', '0', '-movflags', '+faststart+use_metadata_tags', '-f', 'mp4', join(refDir, 'ref.mp4')], refDir);
  const run = await measure(process.execPath, [CLI, 'run', '--json'], dir, env(dir));
  if (run.code !== 0) throw new Error(`keepsake run failed: ${run.stderr.slice(-2000)}`);
  const out = spawnSync('sh', ['-c', `ls ${join(dir, 'out')}/*/*.MP4`], { encoding: 'utf8' }).stdout.trim();
  const outSize = statSync(out).size;
  return [
    `| mov-to-mp4, one ${mb(size)} MB MOV → ${mb(outSize)} MB MP4 | keepsake CLI, folder → folder + mov-to-mp4 | ${(run.wallMs / 1000).toFixed(2)} s | ${mb(size / (run.wallMs / 1000))} MB/s | ${mb(run.maxRssBytes)} MB (node) |`,
    `| same | bare ffmpeg, same arguments | ${(ref.wallMs / 1000).toFixed(2)} s | ${mb(size / (ref.wallMs / 1000))} MB/s | ${mb(ref.maxRssBytes)} MB (ffmpeg) |`,
  ];
}

const ffmpegVersion = spawnSync('ffmpeg', ['-version'], { encoding: 'utf8' }).stdout.split('\n')[0];
const rows = [...(await motionPhotoThroughput()), ...(await bigMovMemory())];
const header = [
  `Run ${new Date().toISOString()} on ${availableParallelism()} cores, Node ${process.version}, ${ffmpegVersion}.`,
  '',
  '| case | what | wall | rate | peak RSS |',
  '|---|---|---|---|---|',
];
const text = [...header, ...rows].join('\n');
console.log(text);
writeFileSync(join(WORK, 'last-run.md'), `${text}\n`);

