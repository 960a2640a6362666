/**
 * The portable decoder: libheif (with libde265) compiled to WebAssembly, from the `libheif-js`
 * package. Always available; decodes the primary image with its transforms (irot/imir/clap)
 * applied, grids assembled, 10-bit reduced to 8-bit RGB.
 */
import { createRequire } from 'node:module';
import { type ColourSignal, DEFAULT_SIGNAL, ycbcrToRgb } from './ycbcr.js';

export class WasmDecodeError extends Error {
  override readonly name = 'WasmDecodeError';
}

export interface RgbImage {
  width: number;
  height: number;
  /** Tightly packed 8-bit RGB, `width * height * 3` bytes. */
  data: Uint8Array;
}

interface HeifChannel {
  id: { value: number };
  bits_per_pixel: number;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}

interface HeifErrorValue {
  code: { value: number };
  message: string;
}

/** The small part of libheif-js's embind API this decoder uses. */
interface LibHeif {
  heif_context_alloc(): unknown;
  heif_context_free(ctx: unknown): void;
  heif_context_read_from_memory(ctx: unknown, data: Uint8Array): HeifErrorValue;
  heif_js_context_get_primary_image_handle?(ctx: unknown): unknown;
  heif_context_get_primary_image_handle(ctx: unknown): unknown;
  heif_js_decode_image2(handle: unknown, colorspace: unknown, chroma: unknown): unknown;
  heif_image_release(image: unknown): void;
  heif_image_handle_release(handle: unknown): void;
  heif_colorspace: { heif_colorspace_RGB: unknown; heif_colorspace_YCbCr: unknown };
  heif_chroma: { heif_chroma_interleaved_RGB: unknown; heif_chroma_420: unknown };
  heif_get_version(): string;
}

let lib: LibHeif | undefined;

/** Loads the wasm module once per thread (about 90 ms). */
export function libheif(): LibHeif {
  lib ??= createRequire(import.meta.url)('libheif-js/wasm-bundle') as LibHeif;
  return lib;
}

function failed(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return 'no result';
  const v = value as { code?: unknown; message?: unknown };
  if (v.code === undefined) return undefined;
  if (typeof v.code === 'object' && (v.code as { value?: number }).value === 0) return undefined;
  return typeof v.message === 'string' && v.message ? v.message : `libheif error ${JSON.stringify(v.code)}`;
}

/**
 * libheif-js builds its plane views before the wasm heap has finished growing for a large image,
 * so the first decode after growth can throw `RangeError: Invalid typed array length`. The heap
 * stays grown, so one retry succeeds (seen on heic/Issue_263_dotnet.heic).
 */
function decodeWithRetry(heif: LibHeif, handle: unknown, colorspace: unknown, chroma: unknown): unknown {
  try {
    return heif.heif_js_decode_image2(handle, colorspace, chroma);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return heif.heif_js_decode_image2(handle, colorspace, chroma);
  }
}

const CHANNEL_Y = 0;
const CHANNEL_CB = 1;
const CHANNEL_CR = 2;

/** 8-bit YCbCr 4:2:0 planes → RGB with keepsake's matrix rule; undefined for other layouts (10-bit, mono). */
function planesToRgb(channels: HeifChannel[], signal: ColourSignal): RgbImage | undefined {
  const find = (id: number) => channels.find((c) => c.id.value === id && c.bits_per_pixel === 8);
  const [y, cb, cr] = [find(CHANNEL_Y), find(CHANNEL_CB), find(CHANNEL_CR)];
  if (!y || !cb || !cr) return undefined;
  const data = ycbcrToRgb({ width: y.width, height: y.height, y, cb, cr }, signal);
  return { width: y.width, height: y.height, data };
}

/**
 * Decodes the primary image of a HEIF file to RGB. 8-bit 4:2:0 images (every iPhone photo) are
 * converted by {@link ycbcrToRgb} with `signal` (the file's nclx, else BT.601 full range); other
 * layouts (10-bit, monochrome) by libheif. Throws {@link WasmDecodeError}.
 */
export function decodeHeifToRgb(file: Uint8Array, signal: ColourSignal = DEFAULT_SIGNAL): RgbImage {
  const heif = libheif();
  const ctx = heif.heif_context_alloc();
  let handle: unknown;
  try {
    const readError = heif.heif_context_read_from_memory(ctx, file);
    if (readError.code.value !== 0) throw new WasmDecodeError(`libheif could not read the file: ${readError.message}`);
    handle = (heif.heif_js_context_get_primary_image_handle ?? heif.heif_context_get_primary_image_handle).call(heif, ctx);
    const handleError = failed(handle);
    if (handleError) throw new WasmDecodeError(`libheif found no primary image: ${handleError}`);
    const planar = decodeWithRetry(heif, handle, heif.heif_colorspace.heif_colorspace_YCbCr, heif.heif_chroma.heif_chroma_420);
    if (!failed(planar)) {
      const { image, channels } = planar as { image: unknown; channels: HeifChannel[] };
      try {
        const rgb = planesToRgb(channels, signal);
        if (rgb) return rgb;
      } finally {
        heif.heif_image_release(image);
      }
    }
    const decoded = decodeWithRetry(heif, handle, heif.heif_colorspace.heif_colorspace_RGB, heif.heif_chroma.heif_chroma_interleaved_RGB);
    const decodeError = failed(decoded);
    if (decodeError) throw new WasmDecodeError(`libheif could not decode the image: ${decodeError}`);
    const { image, channels } = decoded as { image: unknown; channels: HeifChannel[] };
    try {
      const plane = channels[0];
      if (!plane) throw new WasmDecodeError('libheif returned no pixel plane');
      const { width, height, stride } = plane;
      const row = width * 3;
      const data = new Uint8Array(row * height);
      if (stride === row) data.set(plane.data.subarray(0, row * height));
      else for (let y = 0; y < height; y++) data.set(plane.data.subarray(y * stride, y * stride + row), y * row);
      return { width, height, data };
    } finally {
      heif.heif_image_release(image);
    }
  } finally {
    if (handle && !failed(handle)) heif.heif_image_handle_release(handle);
    heif.heif_context_free(ctx);
  }
}
