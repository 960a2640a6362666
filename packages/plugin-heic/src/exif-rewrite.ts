/**
 * Adjusts a HEIC's EXIF (TIFF block) for the JPEG that is made from it (media-formats.md §1.10):
 * the pixels are already rotated by the decoder, so Orientation becomes 1; ExifImageWidth/Height
 * become the output size; the HEIC tile size tags (meaningless in a JPEG) are removed. Everything
 * else — dates, offsets, GPS, camera, MakerNote — is kept byte for byte, so no offsets move.
 */

const TAG_ORIENTATION = 0x0112;
const TAG_TILE_WIDTH = 0x0142;
const TAG_TILE_LENGTH = 0x0143;
const TAG_EXIF_IFD = 0x8769;
const TAG_EXIF_IMAGE_WIDTH = 0xa002;
const TAG_EXIF_IMAGE_HEIGHT = 0xa003;

const TYPE_SHORT = 3;
const TYPE_LONG = 4;

export class ExifRewriteError extends Error {
  override readonly name = 'ExifRewriteError';
}

interface Tiff {
  bytes: Uint8Array;
  view: DataView;
  little: boolean;
}

function u16(t: Tiff, at: number): number {
  if (at + 2 > t.bytes.byteLength) throw new ExifRewriteError(`EXIF read past the end at ${at}`);
  return t.view.getUint16(at, t.little);
}

function u32(t: Tiff, at: number): number {
  if (at + 4 > t.bytes.byteLength) throw new ExifRewriteError(`EXIF read past the end at ${at}`);
  return t.view.getUint32(at, t.little);
}

/** Offsets of the 12-byte entries of the IFD at `ifd`. */
function entries(t: Tiff, ifd: number): number[] {
  const count = u16(t, ifd);
  if (ifd + 2 + count * 12 + 4 > t.bytes.byteLength) throw new ExifRewriteError(`EXIF IFD at ${ifd} runs past the end`);
  return Array.from({ length: count }, (_, i) => ifd + 2 + i * 12);
}

function find(t: Tiff, ifd: number, tag: number): number | undefined {
  return entries(t, ifd).find((e) => u16(t, e) === tag);
}

/** Writes an inline SHORT or LONG value (count 1); other types are left alone. */
function setNumber(t: Tiff, entry: number, value: number): void {
  const type = u16(t, entry + 2);
  if (u32(t, entry + 4) !== 1) return;
  if (type === TYPE_SHORT && value <= 0xffff) t.view.setUint16(entry + 8, value, t.little);
  else if (type === TYPE_LONG) t.view.setUint32(entry + 8, value, t.little);
}

/** Removes entries with the given tags from an IFD by shifting the rest up (offsets stay valid). */
function removeTags(t: Tiff, ifd: number, tags: ReadonlySet<number>): void {
  const list = entries(t, ifd);
  const keep = list.filter((e) => !tags.has(u16(t, e)));
  if (keep.length === list.length) return;
  const next = u32(t, ifd + 2 + list.length * 12);
  const copies = keep.map((e) => t.bytes.slice(e, e + 12));
  for (const [i, c] of copies.entries()) t.bytes.set(c, ifd + 2 + i * 12);
  t.view.setUint16(ifd, keep.length, t.little);
  t.view.setUint32(ifd + 2 + keep.length * 12, next, t.little);
}

export interface ExifRewrite {
  /** Output pixel size (after rotation). */
  width: number;
  height: number;
}

/**
 * Returns a rewritten copy of `tiff` (bytes from the `MM`/`II` header on). Throws
 * {@link ExifRewriteError} when the block is not a readable TIFF.
 */
export function rewriteExifForJpeg(tiff: Uint8Array, out: ExifRewrite): Uint8Array {
  const bytes = tiff.slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const order = bytes.byteLength >= 8 ? String.fromCharCode(bytes[0] as number, bytes[1] as number) : '';
  if (order !== 'MM' && order !== 'II') throw new ExifRewriteError('EXIF does not start with a TIFF header');
  const t: Tiff = { bytes, view, little: order === 'II' };
  if (u16(t, 2) !== 42) throw new ExifRewriteError('EXIF TIFF header has no magic 42');
  const ifd0 = u32(t, 4);
  const orientation = find(t, ifd0, TAG_ORIENTATION);
  if (orientation !== undefined) setNumber(t, orientation, 1);
  const exifPointer = find(t, ifd0, TAG_EXIF_IFD);
  if (exifPointer !== undefined) {
    const exifIfd = u32(t, exifPointer + 8);
    const w = find(t, exifIfd, TAG_EXIF_IMAGE_WIDTH);
    const h = find(t, exifIfd, TAG_EXIF_IMAGE_HEIGHT);
    if (w !== undefined) setNumber(t, w, out.width);
    if (h !== undefined) setNumber(t, h, out.height);
  }
  removeTags(t, ifd0, new Set([TAG_TILE_WIDTH, TAG_TILE_LENGTH]));
  return bytes;
}
