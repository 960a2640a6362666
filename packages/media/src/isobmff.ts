import { ByteReader, decodeLatin1 } from './byte-reader.js';
import { malformed } from './malformed.js';
import { MAX_METADATA_READ, type RandomAccess } from './random-access.js';

/** One ISOBMFF/QuickTime box: where it is and where its payload starts. */
export interface Box {
  type: string;
  /** File offset of the box header. */
  start: number;
  /** File offset of the payload (after size/type/largesize/usertype). */
  bodyStart: number;
  /** File offset just past the box. */
  end: number;
}

/** Boxes per container before we call the file hostile. Real files have a few dozen. */
const MAX_BOXES = 100_000;

/**
 * Reads one box header at `offset` inside a parent ending at `parentEnd`. Sizes are validated
 * before anything is allocated: too small, or running past the parent or the file → MEDIA_MALFORMED.
 */
export async function readBoxHeader(ra: RandomAccess, offset: number, parentEnd: number): Promise<Box> {
  const head = await ra.read(offset, 32);
  if (head.byteLength < 8) throw malformed('Box header cut off by the end of the file', offset);
  const r = new ByteReader(head, offset);
  let size = r.u32();
  const type = r.fourcc();
  let headerSize = 8;
  if (size === 1) {
    if (head.byteLength < 16) throw malformed(`Box '${printable(type)}' large size cut off`, offset);
    size = r.u64();
    headerSize = 16;
  } else if (size === 0) {
    size = parentEnd - offset;
  }
  if (type === 'uuid') headerSize += 16;
  if (size < headerSize) throw malformed(`Box '${printable(type)}' claims ${size} bytes, less than its header`, offset);
  if (offset + size > parentEnd) {
    throw malformed(`Box '${printable(type)}' claims ${size} bytes, past the end of its container (${parentEnd - offset} left)`, offset);
  }
  return { type, start: offset, bodyStart: offset + headerSize, end: offset + size };
}

/** Walks the boxes in [start, end) of the file. */
export async function* walkBoxes(ra: RandomAccess, start: number, end: number): AsyncGenerator<Box> {
  let offset = start;
  let count = 0;
  while (offset + 8 <= end) {
    if (++count > MAX_BOXES) throw malformed(`More than ${MAX_BOXES} boxes in one container`, offset);
    const box = await readBoxHeader(ra, offset, end);
    yield box;
    offset = box.end;
  }
}

/** Lists the top-level boxes of a file. */
export async function topLevelBoxes(ra: RandomAccess): Promise<Box[]> {
  const out: Box[] = [];
  for await (const box of walkBoxes(ra, 0, ra.size)) out.push(box);
  return out;
}

/** Finds the first child of `parent` with `type`. */
export async function findChild(ra: RandomAccess, parent: { bodyStart: number; end: number }, type: string): Promise<Box | undefined> {
  for await (const box of walkBoxes(ra, parent.bodyStart, parent.end)) if (box.type === type) return box;
  return undefined;
}

/** Reads a box's payload into memory, refusing absurd sizes (the caller has validated the box). */
export async function readBody(ra: RandomAccess, box: Box, limit = MAX_METADATA_READ): Promise<ByteReader> {
  const length = box.end - box.bodyStart;
  if (length > limit) throw malformed(`Box '${printable(box.type)}' is ${length} bytes, more than the ${limit} allowed for metadata`, box.start);
  const bytes = await ra.read(box.bodyStart, length);
  if (bytes.byteLength < length) throw malformed(`Box '${printable(box.type)}' cut off by the end of the file`, box.start);
  return new ByteReader(bytes, box.bodyStart);
}

/** Child boxes of an in-memory payload, from the reader's position to its end. */
export function childBoxes(r: ByteReader, from = r.pos, to = r.length): Box[] {
  const out: Box[] = [];
  let pos = from;
  while (pos + 8 <= to) {
    if (out.length >= MAX_BOXES) throw malformed(`More than ${MAX_BOXES} boxes in one container`, r.base + pos);
    const sub = new ByteReader(r.bytes.subarray(pos, to), r.base + pos);
    let size = sub.u32();
    const type = sub.fourcc();
    let headerSize = 8;
    if (size === 1) {
      size = sub.u64();
      headerSize = 16;
    } else if (size === 0) size = to - pos;
    if (type === 'uuid') headerSize += 16;
    if (size < headerSize) throw malformed(`Box '${printable(type)}' claims ${size} bytes, less than its header`, r.base + pos);
    if (pos + size > to) throw malformed(`Box '${printable(type)}' claims ${size} bytes, past the end of its container (${to - pos} left)`, r.base + pos);
    out.push({ type, start: r.base + pos, bodyStart: r.base + pos + headerSize, end: r.base + pos + size });
    pos += size;
  }
  return out;
}

/** A reader over one child box's payload (positions relative to the child). */
export function bodyOf(parent: ByteReader, box: Box): ByteReader {
  const from = box.bodyStart - parent.base;
  const to = box.end - parent.base;
  return new ByteReader(parent.bytes.subarray(from, to), box.bodyStart);
}

/** `ftyp` brands. */
export interface FileType {
  majorBrand: string;
  minorVersion: number;
  compatibleBrands: string[];
}

export function parseFtyp(r: ByteReader): FileType {
  const majorBrand = r.fourcc();
  const minorVersion = r.u32();
  const compatibleBrands: string[] = [];
  while (r.remaining >= 4) compatibleBrands.push(r.fourcc());
  return { majorBrand, minorVersion, compatibleBrands };
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'mif1', 'msf1', 'heim', 'heis', 'avif', 'hevc', 'hevx']);

/** True when the file type says HEIF/HEIC/AVIF (brand anywhere in major/compatible, not at a fixed offset). */
export function isHeifBrand(ftyp: FileType): boolean {
  return HEIF_BRANDS.has(ftyp.majorBrand) || ftyp.compatibleBrands.some((b) => HEIF_BRANDS.has(b));
}

/** Reads `ftyp` when the file starts with one. */
export async function readFileType(ra: RandomAccess): Promise<FileType | undefined> {
  const head = await ra.read(0, 12);
  if (head.byteLength < 12 || decodeLatin1(head.subarray(4, 8)) !== 'ftyp') return undefined;
  const box = await readBoxHeader(ra, 0, ra.size);
  return parseFtyp(await readBody(ra, box, 64 * 1024));
}

function printable(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type) ? type : `0x${[...type].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('')}`;
}
