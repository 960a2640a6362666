/**
 * @keepsake/plugin-livephoto — Live Photo transforms: `live-pair` (confirm still + video belong
 * together), `live-to-motion-photo` (Google Motion Photo JPEG) and `mov-to-mp4`.
 * @packageDocumentation
 */
import { definePlugin } from '@keepsake/core';
import { resolveFfmpeg } from './ffmpeg.js';
import { loadHeicToJpeg } from './heic-still.js';
import { createLivePair } from './live-pair.js';
import { createLiveToMotionPhoto, LIVE_TO_MOTION_PHOTO_DEFAULTS, type LiveToMotionPhotoOptions } from './live-to-motion-photo.js';
import { createMovToMp4, MOV_TO_MP4_DEFAULTS, type MovToMp4Options } from './mov-to-mp4.js';
import { DEFAULT_PAIR_OPTIONS, type PairOptions } from './pairing.js';

export { type FfmpegOrigin, lastLines, type ProbedStream, probeStreams, type ResolvedFfmpeg, resolveFfmpeg, runFfmpeg } from './ffmpeg.js';
export { loadHeicToJpeg } from './heic-still.js';
export { headerSegments, readJpegXmp as readJpegXmpPacket, withXmpDescription, wrapXmpPacket, XMP_APP1_ID } from './jpeg-xmp.js';
export { applyLivePair, createLivePair, type LivePhotoData } from './live-pair.js';
export {
  createLiveToMotionPhoto,
  type HeicToJpeg,
  LIVE_TO_MOTION_PHOTO_DEFAULTS,
  type LiveToMotionPhotoOptions,
  type MotionPhotoDeps,
  motionPhotoNameFor,
} from './live-to-motion-photo.js';
export { type CaptureTime, type LiveFacts, type MotionFacts, readMotionFacts, readStillFacts, secondsApart } from './media-facts.js';
export { createMovToMp4, isQuickTime, type KeepMode, MOV_TO_MP4_DEFAULTS, type MovToMp4Options, mp4NameFor } from './mov-to-mp4.js';
export { isMotionPhotoJpeg, MOTION_PHOTO_NS, type MotionPhotoXmpInput, motionPhotoDescription, writeMotionPhoto } from './motion-photo.js';
export { convertToMp4, DEFAULT_MP4_OPTIONS, type Mp4Mode, type Mp4Options, planMp4 } from './mp4-remux.js';
export {
  checkLivePair,
  DEFAULT_PAIR_OPTIONS,
  decidePair,
  livePair,
  type PairCheck,
  type PairEvidence,
  type PairMethod,
  type PairOptions,
  type PairStatus,
  pairDiagnostic,
  requireLivePair,
} from './pairing.js';

/**
 * The plugin. ffmpeg is resolved when a transform that needs it is created, so a missing ffmpeg
 * stops the run before any bytes move (FFMPEG_NOT_FOUND), and pipelines that only pair never need it.
 */
export default definePlugin({
  activate(ctx) {
    ctx.subscriptions.push(
      ctx.transforms.register('live-pair', {
        create: (options: Partial<PairOptions>) => createLivePair({ ...DEFAULT_PAIR_OPTIONS, ...options }),
      }),
      ctx.transforms.register('live-to-motion-photo', {
        create: (options: Partial<LiveToMotionPhotoOptions>, fctx) =>
          createLiveToMotionPhoto({ ffmpeg: resolveFfmpeg(fctx.env), loadHeicToJpeg: () => loadHeicToJpeg(fctx.env) }, { ...LIVE_TO_MOTION_PHOTO_DEFAULTS, ...options }),
      }),
      ctx.transforms.register('mov-to-mp4', {
        create: (options: Partial<MovToMp4Options>, fctx) => createMovToMp4(resolveFfmpeg(fctx.env), { ...MOV_TO_MP4_DEFAULTS, ...options }),
      }),
    );
  },
});
