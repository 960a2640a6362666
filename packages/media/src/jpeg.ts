import { decodeLatin1, decodeUtf8, startsWithAscii } from './byte-reader.js';
import { isTiffHeader } from './heif.js';
import { malformed } from './malformed.js';
import type { RandomAccess } from './random-access.js';

/** One marker segment before the image data. */
export interface JpegSegment {
  /** Marker byte (0xE1 = APP1, 0xE2 = APP2, 0xDA = SOS, …). */
  marker: number;
  /** File offset of the 0xFF marker. */
  offset: number;
  /** File offset and length of the payload (after the 2-byte length). */
  payloadOffset: number;
  payloadLength: number;
}

const SOS = 0xda;
const EOI = 0xd9;
const MAX_SEGMENTS = 10_000;

export async function isJpeg(ra: RandomAccess): Promise<boolean> {
  const head = await ra.read(0, 3);
  return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
}

/**
 * Lists the segments from SOI up to and including the first SOS (where metadata ends). Lengths
 * are checked against the file size, so a corrupt length is MEDIA_MALFORMED, never a huge read.
 */
export async function readJpegSegments(ra: RandomAccess): Promise<JpegSegment[]> {
  if (!(await isJpeg(ra))) throw malformed('Not a JPEG (no SOI marker)', 0);
  const out: JpegSegment[] = [];
  let pos = 2;
  while (pos < ra.size) {
    if (out.length > MAX_SEGMENTS) throw malformed('Too many JPEG segments', pos);
    const head = await ra.read(pos, 4);
    if (head[0] !== 0xff) throw malformed('Expected a JPEG marker', pos);
    const marker = head[1];
    if (marker === undefined) throw malformed('JPEG marker cut off by the end of the file', pos);
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // standalone markers carry no length
      continue;
    }
    if (marker === EOI) break;
    if (head.byteLength < 4) throw malformed('JPEG segment length cut off by the end of the file', pos);
    const length = (head[2]! << 8) | head[3]!;
    if (length < 2) throw malformed(`JPEG segment 0x${marker.toString(16)} has length ${length}`, pos);
    if (pos + 2 + length > ra.size) throw malformed(`JPEG segment 0x${marker.toString(16)} runs past the end of the file`, pos);
    out.push({ marker, offset: pos, payloadOffset: pos + 4, payloadLength: length - 2 });
    if (marker === SOS) break;
    pos += 2 + length;
  }
  return out;
}

async function payload(ra: RandomAccess, s: JpegSegment): Promise<Uint8Array> {
  return ra.read(s.payloadOffset, s.payloadLength);
}

const EXIF_ID = 'Exif\0\0';
const XMP_ID = 'http://ns.adobe.com/xap/1.0/\0';
const XMP_EXT_ID = 'http://ns.adobe.com/xmp/extension/\0';
const ICC_ID = 'ICC_PROFILE\0';

/** TIFF bytes of the first APP1 Exif segment. */
export async function readJpegExif(ra: RandomAccess, segments?: JpegSegment[]): Promise<Uint8Array | undefined> {
  for (const s of segments ?? (await readJpegSegments(ra))) {
    if (s.marker !== 0xe1 || s.payloadLength < 14) continue;
    const head = await ra.read(s.payloadOffset, 6);
    if (!startsWithAscii(head, EXIF_ID)) continue;
    const p = await payload(ra, s);
    if (isTiffHeader(p, 6)) return p.subarray(6);
  }
  return undefined;
}

export interface JpegXmp {
  /** The main packet (≤ 64 KB), where Camera/Container properties live. */
  main?: string;
  /** Extended XMP reassembled from its chunks, when the main packet announces one. */
  extended?: string;
  /** `xmpNote:HasExtendedXMP` GUID. */
  extendedGuid?: string;
}

/** The XMP packets of a JPEG: the main one and the reassembled Extended XMP. */
export async function readJpegXmp(ra: RandomAccess, segments?: JpegSegment[]): Promise<JpegXmp> {
  const out: JpegXmp = {};
  const chunks = new Map<string, { total: number; parts: { offset: number; data: Uint8Array }[] }>();
  for (const s of segments ?? (await readJpegSegments(ra))) {
    if (s.marker !== 0xe1) continue;
    const head = await ra.read(s.payloadOffset, Math.min(s.payloadLength, XMP_EXT_ID.length));
    if (out.main === undefined && startsWithAscii(head, XMP_ID)) {
      out.main = decodeUtf8((await payload(ra, s)).subarray(XMP_ID.length));
    } else if (startsWithAscii(head, XMP_EXT_ID) && s.payloadLength >= XMP_EXT_ID.length + 40) {
      const p = await payload(ra, s);
      const at = XMP_EXT_ID.length;
      const guid = decodeLatin1(p.subarray(at, at + 32));
      const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
      const total = dv.getUint32(at + 32);
      const offset = dv.getUint32(at + 36);
      const entry = chunks.get(guid) ?? { total, parts: [] };
      entry.parts.push({ offset, data: p.subarray(at + 40) });
      chunks.set(guid, entry);
    }
  }
  const guid = out.main?.match(/HasExtendedXMP\s*(?:=\s*["']|>)\s*([0-9A-Fa-f]{32})/)?.[1];
  if (guid) {
    out.extendedGuid = guid;
    const entry = chunks.get(guid) ?? chunks.get(guid.toUpperCase());
    if (entry && entry.total <= 16 * 1024 * 1024) {
      const buf = new Uint8Array(entry.total);
      let filled = 0;
      for (const part of entry.parts) {
        if (part.offset + part.data.byteLength > entry.total) continue;
        buf.set(part.data, part.offset);
        filled += part.data.byteLength;
      }
      if (filled >= entry.total) out.extended = decodeUtf8(buf);
    }
  }
  return out;
}

/** The ICC profile from APP2 chunks, concatenated in sequence order. */
export async function readJpegIcc(ra: RandomAccess, segments?: JpegSegment[]): Promise<Uint8Array | undefined> {
  const parts: { seq: number; data: Uint8Array }[] = [];
  for (const s of segments ?? (await readJpegSegments(ra))) {
    if (s.marker !== 0xe2 || s.payloadLength < 14) continue;
    const p = await payload(ra, s);
    if (!startsWithAscii(p, ICC_ID)) continue;
    parts.push({ seq: p[12]!, data: p.subarray(14) });
  }
  if (parts.length === 0) return undefined;
  parts.sort((a, b) => a.seq - b.seq);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.data.byteLength, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p.data, pos);
    pos += p.data.byteLength;
  }
  return out;
}

/**
 * File offset just past the EOI marker of the primary image (where a Motion Photo's video or a
 * trailer starts). Scans the entropy-coded data in 64 KiB steps; `FF 00` and RSTn are data.
 */
export async function findJpegEnd(ra: RandomAccess, segments?: JpegSegment[]): Promise<number> {
  const segs = segments ?? (await readJpegSegments(ra));
  const sos = segs.find((s) => s.marker === SOS);
  if (!sos) throw malformed('JPEG has no image data (no SOS)', segs.at(-1)?.offset ?? 0);
  const STEP = 64 * 1024;
  let pos = sos.payloadOffset + sos.payloadLength;
  scan: while (pos < ra.size) {
    const chunk = await ra.read(pos, STEP);
    if (chunk.byteLength < 2) break;
    // Keep the last byte for the next read in case it is the 0xFF of a marker.
    let advance = chunk.byteLength - 1;
    let i = chunk.indexOf(0xff);
    while (i !== -1 && i + 1 < chunk.byteLength) {
      const next = chunk[i + 1]!;
      if (next === EOI) return pos + i + 2;
      if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) {
        i = chunk.indexOf(0xff, i + 1);
        continue;
      }
      // Another marker (progressive JPEG: DHT, SOS…): jump over its segment.
      if (i + 3 >= chunk.byteLength) {
        advance = Math.max(1, i);
        break;
      }
      const length = (chunk[i + 2]! << 8) | chunk[i + 3]!;
      if (pos + i + 2 + length > ra.size) throw malformed('JPEG segment runs past the end of the file', pos + i);
      pos = pos + i + 2 + length;
      continue scan;
    }
    pos += advance;
  }
  throw malformed('JPEG has no end-of-image marker', ra.size);
}
