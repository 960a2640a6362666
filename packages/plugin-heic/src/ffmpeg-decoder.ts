/**
 * The fastest decoder where ffmpeg is installed: keepsake hands ffmpeg the primary image's HEVC
 * tiles as a raw elementary stream (see hevc-plan.ts) and ffmpeg decodes them (its HEVC decoder is
 * about 2× libde265's speed), applies irot/imir, assembles the grid and encodes in one
 * single-threaded process per image (the worker pool spreads images over the cores), with the
 * reference's colour rule (the file's nclx box, else the HEVC VUI).
 *
 * Output: iPhone photos are coded in BT.601 full-range YCbCr, which is JFIF's own colour space, so
 * ffmpeg encodes the JPEG straight from the decoded planes with libjpeg's tables for the quality —
 * no RGB round trip (0.45 s per 12 MP photo instead of 0.6). Other matrices (BT.709, BT.2020) go to
 * RGB in an uncompressed TIFF that sharp encodes from the file: on this VM every freshly touched
 * page costs ~10 µs, so neither path copies 36 MB of RGB into Node.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isKeepsakeError } from '@keepsake/core';
import { type HeifFile, MEDIA_MALFORMED, readHeifGrid, withFile } from '@keepsake/media';
import { childStopSignal } from './child-stop.js';
import { type GridLayout, gridLayout } from './grid-layout.js';
import { annexBStream, type DisplayTransform, HevcStreamError, type HevcPlan, planHevcDecode } from './hevc-plan.js';
import { encodeJpegFile } from './jpeg-encoder.js';
import { libjpegQuantTables } from './jpeg-quant.js';
import { jpegSize, splitJpeg } from './jpeg-segments.js';
import { vuiSignal } from './hevc-vui.js';
import type { ColourSignal } from './ycbcr.js';

/** Per-image limit; a 12 MP photo takes about half a second. */
const FFMPEG_TIMEOUT_MS = 120_000;
const STDERR_LIMIT = 64 * 1024;

/** ffmpeg failed on this image, or it was not one the ffmpeg path takes (another decoder may). */
export class FfmpegDecodeError extends Error {
  override readonly name = 'FfmpegDecodeError';
}

/**
 * swscale's name for an H.273 matrix whose Kr/Kb libheif 1.15 uses too (2, unspecified, is its
 * BT.601 default). Undefined for the rest: identity (GBR), YCgCo, chromaticity-derived (12/13,
 * computed from the primaries), ICtCp, … — swscale has no such matrix, so another decoder takes them.
 */
function swsMatrix(matrix: number): string | undefined {
  switch (matrix) {
    case 1:
      return 'bt709';
    case 9:
    case 10:
      return 'bt2020';
    case 4:
      return 'fcc';
    case 7:
      return 'smpte240m';
    case 2:
    case 5:
    case 6:
      return 'bt601';
    default:
      return undefined;
  }
}

function transformFilter(t: DisplayTransform): string {
  if (t.type === 'imir') return t.mode === 0 ? 'vflip' : 'hflip';
  // irot counts anticlockwise quarter turns.
  return ['', 'transpose=cclock', 'hflip,vflip', 'transpose=clock'][t.angle] ?? '';
}

/** JFIF's own YCbCr is BT.601 full range: such images go to the JPEG encoder without RGB. */
export function isJfifColour(colour: ColourSignal): boolean {
  return colour.matrix === 5 || colour.matrix === 6;
}

/** How ffmpeg produces the output: a JPEG straight from YCbCr, or an RGB TIFF for sharp. */
export type FfmpegOutput = 'jpeg' | 'rgb-tiff';

/**
 * The filter graph: transforms on each tile (in file order; see grid-layout.ts) → grid → crop →
 * either full-range BT.601 YCbCr for ffmpeg's JPEG encoder (the pixels iPhones code are already
 * that: nothing is converted) or RGB exactly as libheif 1.15 converts it (nearest-neighbour
 * chroma, accurate rounding).
 */
export function filterGraph(plan: HevcPlan, layout: GridLayout, colour: ColourSignal, output: FfmpegOutput): string {
  const filters: string[] = [];
  for (const t of plan.transforms) {
    const f = transformFilter(t);
    if (f) filters.push(f);
  }
  if (layout.tiles.length > 1) filters.push(`tile=${layout.columns}x${layout.rows}`);
  if (!layout.fillsCanvas) filters.push(`crop=${layout.crop.width}:${layout.crop.height}:${layout.crop.x}:${layout.crop.y}`);
  const matrix = swsMatrix(colour.matrix);
  if (!matrix) throw new FfmpegDecodeError(`not taken by the ffmpeg decoder: colour matrix ${colour.matrix}`);
  const input = `in_range=${colour.fullRange ? 'pc' : 'tv'}:in_color_matrix=${matrix}`;
  if (output === 'jpeg') filters.push(`scale=${input}:out_range=pc:out_color_matrix=bt601`, 'format=yuvj420p');
  else filters.push(`scale=${input}:flags=neighbor+accurate_rnd+full_chroma_int`, 'format=rgb24');
  return filters.join(',');
}

/**
 * ffmpeg's JPEG encoder with libjpeg's tables for `quality` (its matrices are written as given when
 * the quantiser is 8). The DC step stays 8 — ffmpeg's encoder has no finer one — where libjpeg
 * uses 3 at quality 92: block means are kept to a whole level instead of a third.
 */
export function jpegEncoderArgs(quality: number): string[] {
  const { luma, chroma } = libjpegQuantTables(quality);
  return ['-c:v', 'mjpeg', '-q:v', '8', '-qmin', '8', '-qmax', '8', '-intra_matrix', luma.join(','), '-chroma_intra_matrix', chroma.join(',')];
}

/**
 * Checks ffmpeg's verbose log: every tile must have been decoded (the tile filter pads missing
 * tiles with black and exits 0) and no error logged (a damaged tile is otherwise concealed), nor a
 * warning from the HEVC decoder — it only warns where it then decodes wrongly: a range-extension
 * tool it has not implemented, a conformance window it drops ("Displaying the whole video surface").
 */
export function logProblem(stderr: string, tiles: number): string | undefined {
  const errors = stderr.split('\n').filter((l) => l.includes('[error]') || l.includes('[fatal]') || (l.startsWith('[hevc') && l.includes('[warning]')));
  if (errors.length > 0) return errors.slice(0, 3).map((l) => l.replace(/^\[[^\]]*\]\s*/, '').trim()).join(' | ');
  const decoded = /(\d+) frames decoded/.exec(stderr);
  if (!decoded) return 'ffmpeg did not report how many tiles it decoded';
  if (Number(decoded[1]) !== tiles) return `ffmpeg decoded ${decoded[1]} of ${tiles} tiles`;
  return undefined;
}

/**
 * glibc malloc settings for ffmpeg: frames come from the heap rather than fresh mmaps
 * (mmap_threshold, top_pad, trim_threshold) and the heap may use transparent huge pages (where the
 * kernel allows them on request). Page faults are what a short-lived process pays most for on a
 * VM: 27,000 → 3,800 per 12 MP photo, ~35 % less time. Other C libraries ignore the variable; a
 * setting the user made wins.
 */
const MALLOC_TUNABLES: Record<string, string> = {
  'glibc.malloc.hugetlb': '1',
  'glibc.malloc.mmap_threshold': String(256 << 20),
  'glibc.malloc.top_pad': String(64 << 20),
  'glibc.malloc.trim_threshold': String(256 << 20),
};

export function ffmpegEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = env.GLIBC_TUNABLES ? env.GLIBC_TUNABLES.split(':').filter(Boolean) : [];
  const set = new Set(own.map((t) => t.split('=')[0]));
  const added = Object.entries(MALLOC_TUNABLES)
    .filter(([key]) => !set.has(key))
    .map(([key, value]) => `${key}=${value}`);
  return { ...env, GLIBC_TUNABLES: [...own, ...added].join(':') };
}

/**
 * Runs ffmpeg with the tile stream on stdin; the pixels go to a file (a pipe would cost hundreds
 * of context switches for 36 MB). Resolves with its log. A timeout or an abort kills it outright:
 * ffmpeg only notes a SIGTERM between frames, so one stuck inside a frame would outlive it. An
 * abort rejects with the AbortError itself — not a reason to try another decoder.
 */
export function runFfmpeg(ffmpeg: string, args: string[], stdin: Uint8Array, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
  const { signal, timeoutMs = FFMPEG_TIMEOUT_MS } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: ffmpegEnv(process.env),
      windowsHide: true,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      signal: childStopSignal(signal),
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk;
    });
    // ffmpeg stops reading stdin when it fails early; that EPIPE is reported through its exit code.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
    child.on('error', (err) => reject(err.name === 'AbortError' ? err : new FfmpegDecodeError(`could not run ffmpeg at ${ffmpeg}: ${err.message}`)));
    child.on('close', (code, killedBy) => {
      if (code === 0) return resolve(stderr);
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new FfmpegDecodeError(killedBy ? `ffmpeg was stopped (${killedBy})` : `ffmpeg exited with ${code}: ${tail}`));
    });
  });
}

/**
 * The signal the reference decoder uses: the HEIF's `nclx` box, else the HEVC VUI as H.265 infers
 * it (range: the VUI's flag, limited when absent; matrix: the VUI's unless unspecified, else
 * BT.601). Undefined when the SPS cannot be read: then another decoder takes the image.
 */
export function referenceSignal(nclx: ColourSignal | undefined, sps: Uint8Array | undefined): ColourSignal | undefined {
  if (nclx) return nclx;
  const vui = sps ? vuiSignal(sps) : undefined;
  if (!vui) return undefined;
  const matrix = vui.matrix === undefined || vui.matrix === 2 ? 6 : vui.matrix;
  return { matrix, fullRange: vui.fullRange ?? false };
}

/**
 * Converts the primary image of `input` to JPEG bytes (no metadata segments yet) with ffmpeg (and
 * sharp for non-BT.601 images); `heif` is its parsed item model, `nclx` its colour box when it has one,
 * `workDir` the job's scratch folder.
 * Throws {@link FfmpegDecodeError} when the image is not one this path takes or a step fails; the
 * caller then uses another decoder.
 */
export async function convertWithFfmpeg(
  ffmpeg: string,
  input: string,
  heif: HeifFile,
  nclx: ColourSignal | undefined,
  quality: number,
  workDir: string,
  signal?: AbortSignal,
): Promise<{ jpeg: Uint8Array; encoder: 'ffmpeg' | 'sharp' }> {
  const { plan, layout, stream } = await withFile(input, async (ra) => {
    try {
      const planned = planHevcDecode(heif, await readHeifGrid(ra, heif, heif.primaryItemId));
      if ('unsupported' in planned) throw new FfmpegDecodeError(`not taken by the ffmpeg decoder: ${planned.unsupported}`);
      const layout = gridLayout(planned);
      return { plan: planned, layout, stream: await annexBStream(ra, heif, layout.tiles) };
    } catch (err) {
      // Damage in the coded data: let the other decoder have its say (and give the error).
      if (err instanceof HevcStreamError || (isKeepsakeError(err) && err.code === MEDIA_MALFORMED)) throw new FfmpegDecodeError(err.message);
      throw err;
    }
  });
  const colour = referenceSignal(nclx, plan.sps);
  if (!colour) throw new FfmpegDecodeError('not taken by the ffmpeg decoder: its HEVC parameter set does not say how to convert its colours');
  const { width, height } = layout.crop;
  const output: FfmpegOutput = isJfifColour(colour) ? 'jpeg' : 'rgb-tiff';
  const target = join(workDir, output === 'jpeg' ? 'ffmpeg.jpg' : 'pixels.tif');
  const encoder = output === 'jpeg' ? jpegEncoderArgs(quality) : ['-c:v', 'tiff', '-compression_algo', 'raw'];
  const args = [
    ...['-hide_banner', '-nostdin', '-loglevel', 'level+verbose', '-threads', '1', '-filter_threads', '1'],
    ...['-f', 'hevc', '-i', 'pipe:0', '-vf', filterGraph(plan, layout, colour, output), '-frames:v', '1', '-threads:v', '1'],
    ...encoder,
    ...['-f', 'image2', '-y', target],
  ];
  try {
    const problem = logProblem(await runFfmpeg(ffmpeg, args, stream, { signal }), plan.tiles.length);
    if (problem) throw new FfmpegDecodeError(problem);
    const jpeg = output === 'jpeg' ? await readOutput(target) : await encodeTiff(target, quality);
    let size: { width: number; height: number };
    try {
      size = jpegSize(splitJpeg(jpeg));
    } catch (err) {
      throw new FfmpegDecodeError(`ffmpeg's output is not a readable JPEG: ${(err as Error).message}`);
    }
    if (size.width !== width || size.height !== height) throw new FfmpegDecodeError(`ffmpeg produced ${size.width}×${size.height}, expected ${width}×${height}`);
    return { jpeg, encoder: output === 'jpeg' ? 'ffmpeg' : 'sharp' };
  } finally {
    await rm(target, { force: true });
  }
}

async function readOutput(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new FfmpegDecodeError(`ffmpeg wrote no readable output: ${(err as Error).message}`);
  }
}

async function encodeTiff(path: string, quality: number): Promise<Uint8Array> {
  let jpeg: Uint8Array | undefined;
  try {
    jpeg = await encodeJpegFile(path, quality);
  } catch (err) {
    throw new FfmpegDecodeError(`the image ffmpeg wrote could not be encoded: ${(err as Error).message}`);
  }
  if (!jpeg) throw new FfmpegDecodeError('not taken by the ffmpeg decoder: sharp is not available here to encode its RGB output');
  return jpeg;
}
