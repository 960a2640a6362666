/**
 * Which decoder converts HEICs on this machine — one rule for heic-to-jpeg and for
 * plugin-livephoto's Motion Photo stills, so both make the same JPEG: `auto` takes ffmpeg when it
 * is found (with heif-convert, else wasm, for the images ffmpeg does not take), else heif-convert,
 * else wasm; `ffmpeg` and `native` fail fast without their tool.
 */
import { isKeepsakeError, type Logger } from '@keepsake/core';
import { resolveFfmpeg } from '@keepsake/media';
import type { DecoderName } from './convert.js';
import { decoderUnavailable } from './errors.js';
import { findHeifTools, type HeifTools } from './heif-convert-cli.js';
import type { HeicToJpegOptions } from './options.js';

/** The decoder resolved for this machine, with the tools it runs. */
export interface DecoderChoice {
  decoder: DecoderName;
  tools?: HeifTools;
  ffmpeg?: string;
}

export interface DecoderLookup {
  env: NodeJS.ProcessEnv;
  heifConvertPath?: string;
  /** Told when `FFMPEG_PATH` is set but wrong and `auto` goes on without ffmpeg. */
  logger?: Logger;
}

export async function chooseDecoder(want: NonNullable<HeicToJpegOptions['decoder']>, lookup: DecoderLookup): Promise<DecoderChoice> {
  if (want === 'wasm') return { decoder: 'wasm' };
  const tools = await findHeifTools(lookup.heifConvertPath, lookup.env);
  if (want === 'auto' || want === 'ffmpeg') {
    const ffmpeg = findFfmpeg(want === 'ffmpeg', lookup);
    if (ffmpeg) return { decoder: 'ffmpeg', ffmpeg, ...(tools ? { tools } : {}) };
  }
  if (tools) return { decoder: 'native', tools };
  if (want === 'native') throw decoderUnavailable('heif-convert was not found');
  return { decoder: 'wasm' };
}

function findFfmpeg(required: boolean, { env, logger }: DecoderLookup): string | undefined {
  try {
    return resolveFfmpeg(env).path;
  } catch (err) {
    if (required) throw decoderUnavailable(isKeepsakeError(err) ? err.message : String(err));
    // A wrong FFMPEG_PATH is worth saying; no ffmpeg at all just means another decoder.
    if (env.FFMPEG_PATH) logger?.warn(`heic-to-jpeg: ${(err as Error).message}; decoding without ffmpeg`);
    return undefined;
  }
}
