/**
 * RGB → baseline JPEG. sharp (libvips + libjpeg-turbo, prebuilt) when it loads on this platform;
 * jpeg-js (pure JavaScript, ~5× slower) otherwise, so the wasm path works everywhere.
 */
import { createRequire } from 'node:module';
import type { RgbImage } from './wasm-decoder.js';

export type JpegEncoderName = 'sharp' | 'jpeg-js';

type SharpFactory = ((input: Uint8Array | string, options?: { raw: { width: number; height: number; channels: 3 } }) => {
  jpeg(options: { quality: number; chromaSubsampling: string; optimiseCoding: boolean }): { toBuffer(): Promise<Uint8Array> };
}) & { concurrency(n: number): number; cache(enabled: boolean): unknown };

type JpegJs = { encode(image: { data: Uint8Array; width: number; height: number }, quality: number): { data: Uint8Array } };

const require = createRequire(import.meta.url);
let sharpModule: SharpFactory | null | undefined;

function loadSharp(): SharpFactory | null {
  if (sharpModule !== undefined) return sharpModule;
  try {
    const sharp = require('sharp') as SharpFactory;
    // One libvips thread per conversion: the worker pool already spreads work over the cores.
    sharp.concurrency(1);
    sharp.cache(false);
    sharpModule = sharp;
  } catch {
    sharpModule = null;
  }
  return sharpModule;
}

/**
 * 4:2:0 like the reference tools, and standard Huffman tables like heif-convert and cameras:
 * optimised tables save ~1 % of the bytes but cost a second pass (≈ 350 ms on top of a 12 MP
 * photo's ≈ 45 ms encode).
 */
function sharpJpegOptions(quality: number) {
  return { quality, chromaSubsampling: '4:2:0', optimiseCoding: false };
}

/** The encoder that {@link encodeJpeg} uses here, unless `prefer` rules sharp out. */
export function jpegEncoderName(prefer: JpegEncoderName | undefined = undefined): JpegEncoderName {
  if (prefer === 'jpeg-js') return 'jpeg-js';
  return loadSharp() ? 'sharp' : 'jpeg-js';
}

/** Encodes 8-bit RGB at `quality` (1–100), 4:2:0 chroma like the reference tools. */
export async function encodeJpeg(image: RgbImage, quality: number, prefer?: JpegEncoderName): Promise<Uint8Array> {
  const sharp = prefer === 'jpeg-js' ? null : loadSharp();
  if (sharp) {
    return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .jpeg(sharpJpegOptions(quality))
      .toBuffer();
  }
  const jpeg = require('jpeg-js') as JpegJs;
  const rgba = new Uint8Array(image.width * image.height * 4);
  for (let i = 0, j = 0; i < image.data.length; i += 3, j += 4) {
    rgba[j] = image.data[i] as number;
    rgba[j + 1] = image.data[i + 1] as number;
    rgba[j + 2] = image.data[i + 2] as number;
    rgba[j + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: image.width, height: image.height }, quality).data;
}

/**
 * Encodes the image file at `path` (a TIFF from the ffmpeg decoder) with sharp, which streams it
 * in strips rather than holding the pixels in this process. Undefined when sharp cannot load here.
 */
export async function encodeJpegFile(path: string, quality: number): Promise<Uint8Array | undefined> {
  const sharp = loadSharp();
  if (!sharp) return undefined;
  return sharp(path).jpeg(sharpJpegOptions(quality)).toBuffer();
}
