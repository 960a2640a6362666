import { ByteReader, decodeLatin1, startsWithAscii } from './byte-reader.js';
import { isHeifBrand, parseFtyp } from './isobmff.js';
import { readHeif, readHeifExif, readHeifXmp } from './heif.js';
import { readJpegExif, readJpegSegments, readJpegXmp } from './jpeg.js';
import { readPngMetadata } from './png.js';
import { readQuickTimeMetadata, type QuickTimeMetadata } from './quicktime.js';
import type { RandomAccess } from './random-access.js';
import { type ExifData, readExif, readTiffExif } from './tiff.js';

export type MediaFormat = 'heif' | 'jpeg' | 'quicktime' | 'tiff' | 'png' | 'unknown';

const QT_TOP_LEVEL = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot']);

/** Identifies a file by its first bytes, never by its name. */
export async function sniffFormat(ra: RandomAccess): Promise<MediaFormat> {
  const head = await ra.read(0, 64);
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (startsWithAscii(head, '\x89PNG\r\n\x1a\n')) return 'png';
  if (startsWithAscii(head, 'MM\0*') || startsWithAscii(head, 'II*\0')) return 'tiff';
  if (head.byteLength >= 12) {
    const type = decodeLatin1(head.subarray(4, 8));
    if (type === 'ftyp') {
      const size = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0);
      const body = head.subarray(8, Math.min(head.byteLength, Math.max(16, size)));
      const ftyp = parseFtyp(new ByteReader(body, 8));
      return isHeifBrand(ftyp) ? 'heif' : 'quicktime';
    }
    if (QT_TOP_LEVEL.has(type)) return 'quicktime';
  }
  return 'unknown';
}

/** The metadata a source needs from one file, read once. */
export interface MediaInfo {
  format: MediaFormat;
  exif?: ExifData;
  /** XMP packet (main packet for JPEG). */
  xmp?: string;
  quicktime?: QuickTimeMetadata;
  /** Apple ContentIdentifier: MakerNote 0x0011 for stills, Keys content.identifier for videos. */
  contentIdentifier?: string;
  /**
   * What was damaged when the metadata could be read only in part (a PNG whose later chunks are
   * cut off): the fields above come from the readable part. Callers show it as a warning.
   */
  damage?: string;
}

/**
 * Reads EXIF/XMP (stills) or QuickTime metadata (videos) with small ranged reads. Throws
 * MEDIA_MALFORMED for damaged structures; unknown formats return `{ format: 'unknown' }`.
 */
export async function readMediaInfo(ra: RandomAccess): Promise<MediaInfo> {
  const format = await sniffFormat(ra);
  const info: MediaInfo = { format };
  switch (format) {
    case 'heif': {
      const heif = await readHeif(ra);
      const tiff = await readHeifExif(ra, heif);
      if (tiff) info.exif = readExif(tiff);
      const xmp = await readHeifXmp(ra, heif);
      if (xmp) info.xmp = xmp;
      break;
    }
    case 'jpeg': {
      const segments = await readJpegSegments(ra);
      const tiff = await readJpegExif(ra, segments);
      if (tiff) info.exif = readExif(tiff);
      const xmp = await readJpegXmp(ra, segments);
      if (xmp.main) info.xmp = xmp.main;
      break;
    }
    case 'png': {
      const png = await readPngMetadata(ra);
      if (png.exif) info.exif = readExif(png.exif);
      if (png.xmp) info.xmp = png.xmp;
      if (png.damage) info.damage = png.damage.message;
      break;
    }
    case 'tiff':
      // IFDs may sit anywhere (ffmpeg and libtiff write IFD0 after the image data): ranged reads.
      info.exif = await readTiffExif(ra);
      break;
    case 'quicktime':
      info.quicktime = await readQuickTimeMetadata(ra);
      break;
  }
  const ci = info.exif?.apple?.contentIdentifier ?? info.quicktime?.contentIdentifier;
  if (ci) info.contentIdentifier = ci;
  return info;
}

/** The Live Photo pairing key of a HEIC/JPEG still or a MOV, or undefined. */
export async function readContentIdentifier(ra: RandomAccess): Promise<string | undefined> {
  return (await readMediaInfo(ra)).contentIdentifier;
}
