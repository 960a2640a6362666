import { readFile, rm } from 'node:fs/promises';
import { KeepsakeError, throwIfAborted } from '@keepsake/core';
import type { HeicToJpeg } from './live-to-motion-photo.js';

/** plugin-heic's `DecoderChoice`: handed back to its converter as it came. */
interface DecoderChoice {
  decoder: 'wasm' | 'native' | 'ffmpeg';
  tools?: unknown;
  ffmpeg?: string;
}

/** The part of @keepsake/plugin-heic's public API used here (it is an optional peer, so typed locally). */
interface HeicPlugin {
  convertHeicFile(job: DecoderChoice & { input: string; output: string; quality: number; workDir: string }): Promise<unknown>;
  chooseDecoder(want: 'auto', lookup: { env: NodeJS.ProcessEnv }): Promise<DecoderChoice>;
  heicDecodeFailed(file: string, reason: string): Error;
}

function isHeicPlugin(mod: Record<string, unknown>): mod is Record<string, unknown> & HeicPlugin {
  return typeof mod.convertHeicFile === 'function' && typeof mod.chooseDecoder === 'function' && typeof mod.heicDecodeFailed === 'function';
}

const PACKAGE = '@keepsake/plugin-heic';

/**
 * Loads @keepsake/plugin-heic's converter on first use. It is an optional peer dependency: only
 * Live Photos with a HEIC still need it, and its decoders are heavy. Undefined when it is not
 * installed. The decoder is plugin-heic's own `auto` choice — ffmpeg, else the native
 * `heif-convert`, else libheif wasm — so the Motion Photo's still equals heic-to-jpeg's JPEG.
 */
export async function loadHeicToJpeg(env: NodeJS.ProcessEnv = process.env): Promise<HeicToJpeg | undefined> {
  let mod: Record<string, unknown>;
  try {
    // A variable specifier keeps bundlers and tsc from requiring the optional package.
    const specifier: string = PACKAGE;
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(PACKAGE)) return undefined;
    throw err;
  }
  if (!isHeicPlugin(mod)) {
    throw new KeepsakeError('PLUGIN_INCOMPATIBLE', `${PACKAGE} does not export convertHeicFile/chooseDecoder; it is too old or too new for @keepsake/plugin-livephoto`, {
      plugin: PACKAGE,
      hint: `Install matching versions of ${PACKAGE} and @keepsake/plugin-livephoto.`,
    });
  }
  const plugin = mod;
  const decoder = await plugin.chooseDecoder('auto', { env });
  return async ({ path: heicPath, name }, quality, signal) => {
    throwIfAborted(signal);
    const output = `${heicPath}.${quality}.jpg`;
    const workDir = `${heicPath}.heic-work`;
    try {
      await plugin.convertHeicFile({ input: heicPath, output, quality, ...decoder, workDir });
    } catch (err) {
      if ((err as Error)?.name === 'HeicDecodeError') throw plugin.heicDecodeFailed(name, (err as Error).message);
      throw err;
    }
    try {
      return new Uint8Array(await readFile(output));
    } finally {
      await rm(output, { force: true });
    }
  };
}
