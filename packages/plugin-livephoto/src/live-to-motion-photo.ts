import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Asset, KeepsakeError, type Resource, splitName, type Transform, type TransformContext } from '@keepsake/core';
import type { ResolvedFfmpeg } from './ffmpeg.js';
import { applyLivePair, type LivePhotoData, logNewDiagnostics } from './live-pair.js';
import type { KeepMode } from './mov-to-mp4.js';
import { mp4Work } from './mov-to-mp4.js';
import { writeMotionPhoto } from './motion-photo.js';
import { DEFAULT_MP4_OPTIONS } from './mp4-remux.js';
import { DEFAULT_PAIR_OPTIONS, livePair, type PairOptions } from './pairing.js';
import { fileBackedResource, type RunCache, sharedRunCache, spoolToFile, workDir, workFileName } from './work-files.js';

export interface LiveToMotionPhotoOptions {
  /** `converted` (default): the Motion Photo replaces still and MOV; `both`: all three are delivered. */
  keep: KeepMode;
  /** JPEG quality for a HEIC still (a JPEG still is kept byte for byte). */
  quality: number;
}

export const LIVE_TO_MOTION_PHOTO_DEFAULTS: LiveToMotionPhotoOptions = { keep: 'converted', quality: 92 };

/**
 * Converts a HEIC still file to JPEG bytes (EXIF, orientation and colour profile carried over).
 * Supplied by @keepsake/plugin-heic; see heic-still.ts.
 */
export type HeicToJpeg = (heic: { path: string; name: string }, quality: number, signal: AbortSignal) => Promise<Uint8Array>;

/** Bump when the bytes written for the same input and options change. */
const OUTPUT_REVISION = 1;

const JPEG_TYPES = new Set(['image/jpeg']);
const HEIF_TYPES = new Set(['image/heic', 'image/heif']);

/** IMG_0001.HEIC → IMG_0001.MP.jpg: Motion Photo 1.0 asks for a base name ending in `MP`. */
export function motionPhotoNameFor(stillName: string): string {
  return `${splitName(stillName).base}.MP.jpg`;
}

export interface MotionPhotoDeps {
  ffmpeg: ResolvedFfmpeg;
  /** Loaded on the first HEIC still; undefined result means no HEIC decoder is installed. */
  loadHeicToJpeg: () => Promise<HeicToJpeg | undefined>;
  pairOptions?: PairOptions;
}

/**
 * Transform `live-to-motion-photo`: a confirmed Live Photo (live-pair runs first when it did not
 * already) becomes one Google Motion Photo JPEG: the still (JPEG kept as is, HEIC converted) with
 * Motion Photo XMP, followed by the MOV remuxed to MP4. Pairs that are not confirmed are left as
 * they are, with live-pair's diagnostic saying why: fusing the wrong video would be silent damage.
 */
export function createLiveToMotionPhoto(deps: MotionPhotoDeps, options: LiveToMotionPhotoOptions, cache: RunCache = sharedRunCache): Transform {
  const runs = new Set<string>();
  const pairOptions = deps.pairOptions ?? DEFAULT_PAIR_OPTIONS;
  // The HEIC converter (and its decoder choice) is loaded once, on the first HEIC still.
  let heicConverter: Promise<HeicToJpeg | undefined> | undefined;
  const heic = { ...deps, loadHeicToJpeg: () => (heicConverter ??= deps.loadHeicToJpeg()) };
  return {
    id: 'live-to-motion-photo',
    version: `live-to-motion-photo@${OUTPUT_REVISION};keep=${options.keep};quality=${options.quality}`,
    async apply(input: Asset, ctx: TransformContext): Promise<Asset> {
      const pair = livePair(input);
      if (!pair) return input;
      const { still, motion } = pair;
      const stillIsJpeg = JPEG_TYPES.has(still.mediaType);
      if (!stillIsJpeg && !HEIF_TYPES.has(still.mediaType)) return input;
      let asset = input;
      if (!input.data?.livePhoto) {
        asset = await applyLivePair(input, pairOptions, ctx);
        logNewDiagnostics(input, asset, ctx);
      }
      const found: LivePhotoData | undefined = asset.data?.livePhoto;
      if (found?.status !== 'paired') return asset;
      runs.add(ctx.tempDir);

      const name = motionPhotoNameFor(still.name);
      const cacheKey = [ctx.tempDir, 'motion-photo', still.key, String(still.size), motion.key, String(motion.size), String(options.quality)];
      const mp4 = mp4Work(deps.ffmpeg, cache, motion, DEFAULT_MP4_OPTIONS, ctx);
      const produce = () =>
        cache.get(cacheKey, async () => {
          const dir = await workDir(ctx.tempDir);
          const stillPath = await spoolToFile(still, dir, cacheKey, ctx.signal);
          let jpeg: Uint8Array;
          try {
            jpeg = stillIsJpeg ? new Uint8Array(await readFile(stillPath)) : await heicStillToJpeg(heic, still, stillPath, options.quality, ctx.signal);
          } finally {
            await rm(stillPath, { force: true });
          }
          const dest = join(dir, workFileName(cacheKey, 'MP.jpg'));
          const written = await writeMotionPhoto(dest, {
            jpeg,
            mp4Path: await mp4(),
            presentationTimestampUs: found.stillImageTimeUs ?? -1,
            signal: ctx.signal,
          });
          ctx.logger.debug('live-to-motion-photo: written', { asset: asset.id, bytes: written.bytes, videoOffset: written.videoOffset });
          return dest;
        });
      const motionPhoto = fileBackedResource(
        {
          role: 'derived',
          name,
          key: `${still.key}#motion-photo`,
          mtimeMs: still.mtimeMs,
          mediaType: 'image/jpeg',
          derivedFrom: still.key,
        },
        produce,
      );
      if (options.keep === 'both') return { ...asset, resources: [...asset.resources, motionPhoto] };
      const rest = asset.resources.filter((r) => r !== still && r !== motion);
      return {
        ...asset,
        resources: [motionPhoto, ...rest],
        history: [...(asset.history ?? [still.name]), name],
      };
    },
    async close() {
      for (const run of runs) cache.forgetRun(run);
    },
  };
}

async function heicStillToJpeg(deps: MotionPhotoDeps, still: Resource, path: string, quality: number, signal: AbortSignal): Promise<Uint8Array> {
  const convert = await deps.loadHeicToJpeg();
  if (!convert) {
    throw new KeepsakeError('HEIC_DECODER_MISSING', `${still.name} is HEIC and no HEIC decoder is installed to turn it into the Motion Photo's JPEG`, {
      resource: still.name,
      hint: 'Install @keepsake/plugin-heic next to @keepsake/plugin-livephoto.',
    });
  }
  return convert({ path, name: still.name }, quality, signal);
}
