/**
 * One HEIC file → one JPEG file. Runs inside a pool worker (worker.ts), or in-process for tools
 * and tests. Metadata comes from @keepsake/media's HEIF parser; pixels from the native or the
 * wasm decoder; the JPEG's metadata segments are always written here, the same for both decoders.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type HeifFile, itemProperties, readHeifExif, readHeifIcc, readHeifXmp, referencedItems, withFile } from '@keepsake/media';
import { ExifRewriteError, rewriteExifForJpeg } from './exif-rewrite.js';
import { convertWithFfmpeg, FfmpegDecodeError } from './ffmpeg-decoder.js';
import { checkHeif } from './heif-check.js';
import { type HeifTools, heifConvertToJpeg } from './heif-convert-cli.js';
import { encodeJpeg, type JpegEncoderName, jpegEncoderName } from './jpeg-encoder.js';
import { exifSegment, iccSegments, jpegSize, MAX_EXIF_TIFF, MAX_XMP_PACKET, splitJpeg, withMetadataSegments, xmpSegment } from './jpeg-segments.js';
import { decodeHeifToRgb } from './wasm-decoder.js';
import { withoutMotionPhotoXmp } from './xmp-motion.js';
import { type ColourSignal, DEFAULT_SIGNAL } from './ycbcr.js';

/**
 * `ffmpeg`: ffmpeg decodes the HEVC tiles (fastest; images it does not take fall back to `native`
 * when `tools` is set, else `wasm`). `native`: libheif's `heif-convert`. `wasm`: libheif-js.
 */
export type DecoderName = 'wasm' | 'native' | 'ffmpeg';

export interface ConvertJob {
  input: string;
  output: string;
  /** JPEG quality 1–100. */
  quality: number;
  decoder: DecoderName;
  /** Required for the native decoder; with `ffmpeg`, the fallback for images ffmpeg does not take. */
  tools?: HeifTools;
  /** Path of the ffmpeg binary; required for the ffmpeg decoder. */
  ffmpeg?: string;
  /** Force the pure-JS JPEG encoder (tests, platforms without sharp). */
  encoder?: JpegEncoderName;
  /** An empty scratch folder for this job (the native tool writes its files here). */
  workDir: string;
}

export interface ConvertResult {
  width: number;
  height: number;
  bytes: number;
  /** The decoder that produced the pixels (the fallback when ffmpeg did not take the image). */
  decoder: DecoderName;
  encoder: JpegEncoderName | 'heif-convert' | 'ffmpeg';
  /** Why the ffmpeg decoder handed the image to another decoder. */
  fallbackReason?: string;
  /** What was carried over. */
  metadata: { exif: boolean; xmp: boolean; icc: boolean };
  /** Metadata that could not be carried over, with why. */
  warnings: string[];
}

/** Thrown for files that cannot be decoded (damaged, truncated, not HEIF). Message says why. */
export class HeicDecodeError extends Error {
  override readonly name = 'HeicDecodeError';
}

interface SourceMetadata {
  exif: Uint8Array | undefined;
  xmp: string | undefined;
  icc: Uint8Array | undefined;
  /** How to turn the coded YCbCr into RGB (the wasm path converts itself). */
  signal: ColourSignal;
  /** The file's own `nclx` box, when it has one (the ffmpeg path falls back to the HEVC VUI). */
  nclx: ColourSignal | undefined;
  /** The parsed item model (the ffmpeg path plans its tiles from it). */
  heif: HeifFile;
}

/** The primary image's `nclx` (else its first tile's), as matrix + range; undefined without one. */
function nclxSignal(heif: HeifFile): ColourSignal | undefined {
  for (const id of [heif.primaryItemId, ...referencedItems(heif, 'dimg', heif.primaryItemId).slice(0, 1)]) {
    for (const { property } of itemProperties(heif, id)) {
      if (property.type === 'colr' && property.colourType === 'nclx') return { matrix: property.matrix, fullRange: property.fullRange };
    }
  }
  return undefined;
}

async function readSourceMetadata(input: string): Promise<SourceMetadata> {
  return withFile(input, async (ra) => {
    const checked = await checkHeif(ra);
    if (checked.problem !== undefined) throw new HeicDecodeError(checked.problem);
    const heif = checked.heif;
    // Metadata is best effort: a damaged Exif item must not stop the pixels from converting.
    const [exif, xmp, icc] = await Promise.all([
      readHeifExif(ra, heif).catch(() => undefined),
      readHeifXmp(ra, heif).catch(() => undefined),
      readHeifIcc(ra, heif).catch(() => undefined),
    ]);
    const nclx = nclxSignal(heif);
    return { exif, xmp, icc, signal: nclx ?? DEFAULT_SIGNAL, nclx, heif };
  });
}

function metadataSegments(meta: SourceMetadata, size: { width: number; height: number }, warnings: string[]): { segments: Uint8Array[]; carried: ConvertResult['metadata'] } {
  const segments: Uint8Array[] = [];
  const carried = { exif: false, xmp: false, icc: false };
  if (meta.exif) {
    try {
      const tiff = rewriteExifForJpeg(meta.exif, size);
      if (tiff.byteLength > MAX_EXIF_TIFF) warnings.push(`EXIF is ${tiff.byteLength} bytes, more than one JPEG segment holds; not copied`);
      else {
        segments.push(exifSegment(tiff));
        carried.exif = true;
      }
    } catch (err) {
      if (!(err instanceof ExifRewriteError)) throw err;
      warnings.push(`EXIF is unreadable (${err.message}); not copied`);
    }
  }
  if (meta.xmp) {
    // A Motion Photo HEIC's XMP describes its appended video, which the JPEG does not carry.
    const { xmp, removed } = withoutMotionPhotoXmp(meta.xmp);
    if (removed) warnings.push('Motion Photo: the JPEG carries the still only (the video stays in the HEIC), so its Motion Photo XMP was left out');
    const packet = new TextEncoder().encode(xmp);
    if (packet.byteLength > MAX_XMP_PACKET) warnings.push(`XMP is ${packet.byteLength} bytes, more than one JPEG segment holds; not copied`);
    else {
      segments.push(xmpSegment(packet));
      carried.xmp = true;
    }
  }
  if (meta.icc) {
    segments.push(...iccSegments(meta.icc));
    carried.icc = true;
  }
  return { segments, carried };
}

interface Encoded {
  jpeg: Uint8Array;
  decoder: DecoderName;
  encoder: ConvertResult['encoder'];
  fallbackReason?: string;
}

async function decodeAndEncode(job: ConvertJob, meta: SourceMetadata): Promise<Encoded> {
  let fallbackReason: string | undefined;
  if (job.decoder === 'ffmpeg') {
    if (!job.ffmpeg) throw new Error('The ffmpeg decoder needs the path of ffmpeg');
    try {
      if (job.encoder === 'jpeg-js') throw new FfmpegDecodeError('not taken by the ffmpeg decoder: the jpeg-js encoder was asked for');
      const { jpeg, encoder } = await convertWithFfmpeg(job.ffmpeg, job.input, meta.heif, meta.nclx, job.quality, job.workDir);
      return { jpeg, decoder: 'ffmpeg', encoder };
    } catch (err) {
      if (!(err instanceof FfmpegDecodeError)) throw err;
      fallbackReason = err.message;
    }
  }
  const withReason = fallbackReason === undefined ? {} : { fallbackReason };
  if (job.decoder === 'native' || (job.decoder === 'ffmpeg' && job.tools)) {
    if (!job.tools) throw new Error('The native decoder needs heif-convert');
    return { jpeg: await heifConvertToJpeg(job.tools, job.input, job.workDir, job.quality), decoder: 'native', encoder: 'heif-convert', ...withReason };
  }
  const rgb = decodeHeifToRgb(await readFile(job.input), meta.signal);
  return { jpeg: await encodeJpeg(rgb, job.quality, job.encoder), decoder: 'wasm', encoder: jpegEncoderName(job.encoder), ...withReason };
}

/** Converts `job.input` to `job.output` (written to a temp name, then renamed into place). */
export async function convertHeicFile(job: ConvertJob): Promise<ConvertResult> {
  await mkdir(job.workDir, { recursive: true });
  try {
    const meta = await readSourceMetadata(job.input);
    let encoded: Encoded;
    try {
      encoded = await decodeAndEncode(job, meta);
    } catch (err) {
      throw new HeicDecodeError((err as Error).message);
    }
    const size = jpegSize(splitJpeg(encoded.jpeg));
    const warnings: string[] = [];
    const { segments, carried } = metadataSegments(meta, size, warnings);
    const jpeg = withMetadataSegments(encoded.jpeg, segments);
    const partial = join(job.workDir, 'result.partial');
    await writeFile(partial, jpeg);
    await rename(partial, job.output);
    const fallback = encoded.fallbackReason === undefined ? {} : { fallbackReason: encoded.fallbackReason };
    return { ...size, bytes: jpeg.byteLength, decoder: encoded.decoder, encoder: encoded.encoder, metadata: carried, warnings, ...fallback };
  } finally {
    await rm(job.workDir, { recursive: true, force: true });
  }
}
