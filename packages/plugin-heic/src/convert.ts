/**
 * One HEIC file → one JPEG file. Runs inside a pool worker (worker.ts), or in-process for tools
 * and tests. Metadata comes from @keepsake/media's HEIF parser; pixels from the native or the
 * wasm decoder; the JPEG's metadata segments are always written here, the same for both decoders.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type HeifFile, itemProperties, readHeifExif, readHeifIcc, readHeifXmp, referencedItems, withFile } from '@keepsake/media';
import { ExifRewriteError, rewriteExifForJpeg } from './exif-rewrite.js';
import { checkHeif } from './heif-check.js';
import { type HeifTools, heifConvertToJpeg } from './heif-convert-cli.js';
import { encodeJpeg, type JpegEncoderName, jpegEncoderName } from './jpeg-encoder.js';
import { exifSegment, iccSegments, jpegSize, MAX_EXIF_TIFF, MAX_XMP_PACKET, splitJpeg, withMetadataSegments, xmpSegment } from './jpeg-segments.js';
import { decodeHeifToRgb } from './wasm-decoder.js';
import { type ColourSignal, DEFAULT_SIGNAL } from './ycbcr.js';

export type DecoderName = 'wasm' | 'native';

export interface ConvertJob {
  input: string;
  output: string;
  /** JPEG quality 1–100. */
  quality: number;
  decoder: DecoderName;
  /** Required for the native decoder. */
  tools?: HeifTools;
  /** Force the pure-JS JPEG encoder (tests, platforms without sharp). */
  encoder?: JpegEncoderName;
  /** An empty scratch folder for this job (the native tool writes its files here). */
  workDir: string;
}

export interface ConvertResult {
  width: number;
  height: number;
  bytes: number;
  decoder: DecoderName;
  encoder: JpegEncoderName | 'heif-convert';
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
}

/** The primary image's `nclx` (else its first tile's), as matrix + range; the default without one. */
function colourSignal(heif: HeifFile): ColourSignal {
  for (const id of [heif.primaryItemId, ...referencedItems(heif, 'dimg', heif.primaryItemId).slice(0, 1)]) {
    for (const { property } of itemProperties(heif, id)) {
      if (property.type === 'colr' && property.colourType === 'nclx') return { matrix: property.matrix, fullRange: property.fullRange };
    }
  }
  return DEFAULT_SIGNAL;
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
    return { exif, xmp, icc, signal: colourSignal(heif) };
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
    const packet = new TextEncoder().encode(meta.xmp);
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

async function decodeAndEncode(job: ConvertJob, signal: ColourSignal): Promise<{ jpeg: Uint8Array; encoder: ConvertResult['encoder'] }> {
  if (job.decoder === 'native') {
    if (!job.tools) throw new Error('The native decoder needs heif-convert');
    return { jpeg: await heifConvertToJpeg(job.tools, job.input, job.workDir, job.quality), encoder: 'heif-convert' };
  }
  const rgb = decodeHeifToRgb(await readFile(job.input), signal);
  return { jpeg: await encodeJpeg(rgb, job.quality, job.encoder), encoder: jpegEncoderName(job.encoder) };
}

/** Converts `job.input` to `job.output` (written to a temp name, then renamed into place). */
export async function convertHeicFile(job: ConvertJob): Promise<ConvertResult> {
  await mkdir(job.workDir, { recursive: true });
  try {
    const meta = await readSourceMetadata(job.input);
    let encoded: Awaited<ReturnType<typeof decodeAndEncode>>;
    try {
      encoded = await decodeAndEncode(job, meta.signal);
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
    return { ...size, bytes: jpeg.byteLength, decoder: job.decoder, encoder: encoded.encoder, metadata: carried, warnings };
  } finally {
    await rm(job.workDir, { recursive: true, force: true });
  }
}
