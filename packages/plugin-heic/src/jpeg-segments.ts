/**
 * JPEG marker segments: split an encoder's output into its header segments and the rest, and
 * write the metadata segments keepsake carries over (media-formats.md §2.4).
 */

const SOI = 0xd8;
const SOS = 0xda;
const EOI = 0xd9;

/** Largest payload of one marker segment (the u16 length counts itself). */
export const MAX_SEGMENT_PAYLOAD = 65_533;

const EXIF_ID = new TextEncoder().encode('Exif\0\0');
const XMP_ID = new TextEncoder().encode('http://ns.adobe.com/xap/1.0/\0');
const ICC_ID = new TextEncoder().encode('ICC_PROFILE\0');

/** Largest TIFF block one APP1 Exif segment holds (EXIF does not chain across segments). */
export const MAX_EXIF_TIFF = MAX_SEGMENT_PAYLOAD - EXIF_ID.byteLength;
/** Largest XMP packet one APP1 segment holds (extended XMP is not written). */
export const MAX_XMP_PACKET = MAX_SEGMENT_PAYLOAD - XMP_ID.byteLength;
/** ICC bytes per APP2 chunk: payload minus identifier and the two sequence bytes. */
export const ICC_CHUNK = MAX_SEGMENT_PAYLOAD - ICC_ID.byteLength - 2;

export interface JpegSegment {
  /** Marker byte after 0xFF (0xE1 = APP1, 0xC0 = SOF0, …). */
  marker: number;
  /** Offset of the 0xFF marker. */
  start: number;
  /** Offset just past the segment. */
  end: number;
  /** Payload (without marker and length). */
  payload: Uint8Array;
}

export interface SplitJpeg {
  /** Segments between SOI and SOS, in file order. */
  segments: JpegSegment[];
  /** Offset of the SOS marker: from here to the end is copied unchanged. */
  scanStart: number;
}

/** Splits a baseline/progressive JPEG at its first SOS. Throws on anything that is not a JPEG. */
export function splitJpeg(bytes: Uint8Array): SplitJpeg {
  if (bytes.byteLength < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) throw new Error('Encoder output is not a JPEG (no SOI)');
  const segments: JpegSegment[] = [];
  let pos = 2;
  while (pos + 4 <= bytes.byteLength) {
    if (bytes[pos] !== 0xff) throw new Error(`JPEG marker expected at byte ${pos}`);
    const marker = bytes[pos + 1] as number;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === SOS) return { segments, scanStart: pos };
    if (marker === EOI) break;
    const length = ((bytes[pos + 2] as number) << 8) | (bytes[pos + 3] as number);
    const end = pos + 2 + length;
    if (length < 2 || end > bytes.byteLength) throw new Error(`JPEG segment at byte ${pos} runs past the end`);
    segments.push({ marker, start: pos, end, payload: bytes.subarray(pos + 4, end) });
    pos = end;
  }
  throw new Error('JPEG has no scan (SOS) segment');
}

/** Width and height from the frame header (SOF0–SOF15 except DHT/JPG/DAC). */
export function jpegSize(split: SplitJpeg): { width: number; height: number } {
  for (const s of split.segments) {
    if (s.marker >= 0xc0 && s.marker <= 0xcf && s.marker !== 0xc4 && s.marker !== 0xc8 && s.marker !== 0xcc) {
      const p = s.payload;
      return { height: ((p[1] as number) << 8) | (p[2] as number), width: ((p[3] as number) << 8) | (p[4] as number) };
    }
  }
  throw new Error('JPEG has no frame header (SOF)');
}

function segment(marker: number, ...parts: Uint8Array[]): Uint8Array {
  const payloadLength = parts.reduce((n, p) => n + p.byteLength, 0);
  if (payloadLength > MAX_SEGMENT_PAYLOAD) throw new RangeError(`JPEG segment payload of ${payloadLength} bytes exceeds ${MAX_SEGMENT_PAYLOAD}`);
  const out = new Uint8Array(4 + payloadLength);
  out[0] = 0xff;
  out[1] = marker;
  out[2] = (payloadLength + 2) >> 8;
  out[3] = (payloadLength + 2) & 0xff;
  let at = 4;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** APP1 `Exif\0\0` + TIFF. Throws RangeError when the TIFF block does not fit one segment. */
export function exifSegment(tiff: Uint8Array): Uint8Array {
  return segment(0xe1, EXIF_ID, tiff);
}

/** APP1 XMP packet. Throws RangeError when the packet does not fit one segment. */
export function xmpSegment(packet: string | Uint8Array): Uint8Array {
  const bytes = typeof packet === 'string' ? new TextEncoder().encode(packet) : packet;
  return segment(0xe1, XMP_ID, bytes);
}

/** APP2 `ICC_PROFILE` chunks (1-based sequence numbers; at most 255 chunks ≈ 16 MB). */
export function iccSegments(icc: Uint8Array): Uint8Array[] {
  const count = Math.max(1, Math.ceil(icc.byteLength / ICC_CHUNK));
  if (count > 255) throw new RangeError(`ICC profile of ${icc.byteLength} bytes needs more than 255 APP2 chunks`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = icc.subarray(i * ICC_CHUNK, (i + 1) * ICC_CHUNK);
    out.push(segment(0xe2, ICC_ID, Uint8Array.of(i + 1, count), chunk));
  }
  return out;
}

/**
 * What an encoder wrote that keepsake replaces: APPn segments (JFIF, Exif, XMP, ICC: keepsake
 * writes its own) and comments (ffmpeg signs its JPEGs "Lavc…"; a HEIC has no comment to carry).
 */
function isReplacedByKeepsake(s: JpegSegment): boolean {
  return (s.marker >= 0xe0 && s.marker <= 0xef) || s.marker === 0xfe;
}

/**
 * Rebuilds `encoded` as SOI, `metadata` segments, then the encoder's non-APP segments (quantisation
 * and Huffman tables, frame header) and the scan unchanged. Pixels are never re-encoded.
 */
export function withMetadataSegments(encoded: Uint8Array, metadata: readonly Uint8Array[]): Uint8Array {
  const split = splitJpeg(encoded);
  const kept = split.segments.filter((s) => !isReplacedByKeepsake(s)).map((s) => encoded.subarray(s.start, s.end));
  const parts = [Uint8Array.of(0xff, SOI), ...metadata, ...kept, encoded.subarray(split.scanStart)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
