import { KeepsakeError } from '@keepsake/core';

/** The APP1 identifier of a standard XMP packet (Adobe XMP spec part 3), NUL included. */
export const XMP_APP1_ID = 'http://ns.adobe.com/xap/1.0/\0';
const XMP_ID_BYTES = new TextEncoder().encode(XMP_APP1_ID);
const EXIF_ID_BYTES = new TextEncoder().encode('Exif\0\0');
/** A segment's length field counts itself (2 bytes) and is a u16. */
const MAX_SEGMENT_PAYLOAD = 0xffff - 2;

export interface JpegSegment {
  marker: number;
  /** Offset of the 0xFF of the marker. */
  start: number;
  /** Offset just past the segment. */
  end: number;
  /** Offset of the payload (after marker and length). */
  payload: number;
}

function invalid(what: string): KeepsakeError {
  return new KeepsakeError('JPEG_INVALID', `Not a valid JPEG: ${what}`, {
    hint: 'The still may be truncated or damaged; check that it opens in an image viewer.',
  });
}

/**
 * The header segments of a JPEG, from after SOI up to (not including) SOS. Bytes from SOS on are
 * entropy-coded data that this module never touches.
 */
export function headerSegments(jpeg: Uint8Array): JpegSegment[] {
  if (jpeg.byteLength < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw invalid('missing start-of-image marker');
  const segments: JpegSegment[] = [];
  let pos = 2;
  for (;;) {
    if (pos + 4 > jpeg.byteLength) throw invalid(`header ends at byte ${pos} before the image data`);
    if (jpeg[pos] !== 0xff) throw invalid(`expected a marker at byte ${pos}`);
    let markerPos = pos;
    while (jpeg[markerPos + 1] === 0xff) markerPos++; // fill bytes
    const marker = jpeg[markerPos + 1]!;
    if (marker === 0xda) return segments; // SOS: image data follows
    if (marker === 0xd9) throw invalid(`end-of-image at byte ${markerPos} before any image data`);
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos = markerPos + 2; // parameterless markers
      continue;
    }
    const length = (jpeg[markerPos + 2]! << 8) | jpeg[markerPos + 3]!;
    const end = markerPos + 2 + length;
    if (length < 2 || end > jpeg.byteLength) throw invalid(`segment 0xFF${marker.toString(16).toUpperCase()} at byte ${markerPos} runs past the end`);
    segments.push({ marker, start: pos, end, payload: markerPos + 4 });
    pos = end;
  }
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.byteLength > bytes.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

function isXmp(jpeg: Uint8Array, s: JpegSegment): boolean {
  return s.marker === 0xe1 && startsWith(jpeg, s.payload, XMP_ID_BYTES);
}

/** The standard XMP packet of a JPEG, if it has one. */
export function readJpegXmp(jpeg: Uint8Array): string | undefined {
  const seg = headerSegments(jpeg).find((s) => isXmp(jpeg, s));
  if (!seg) return undefined;
  return new TextDecoder().decode(jpeg.subarray(seg.payload + XMP_ID_BYTES.byteLength, seg.end));
}

function xmpSegment(packet: string): Uint8Array {
  const body = new TextEncoder().encode(packet);
  const payloadLength = XMP_ID_BYTES.byteLength + body.byteLength;
  if (payloadLength > MAX_SEGMENT_PAYLOAD) {
    throw new KeepsakeError('XMP_TOO_LARGE', `The XMP packet would be ${payloadLength} bytes; a JPEG segment holds at most ${MAX_SEGMENT_PAYLOAD}`, {
      hint: 'The still already carries very large XMP; deliver the Live Photo unconverted (keep: "both").',
    });
  }
  const seg = new Uint8Array(4 + payloadLength);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg[2] = ((payloadLength + 2) >> 8) & 0xff;
  seg[3] = (payloadLength + 2) & 0xff;
  seg.set(XMP_ID_BYTES, 4);
  seg.set(body, 4 + XMP_ID_BYTES.byteLength);
  return seg;
}

/**
 * Puts `description` (one `rdf:Description` element declaring its own namespaces) into the JPEG's
 * XMP. An existing packet keeps its content and gains the description; otherwise a new packet goes
 * right after the leading APP0/Exif segments — before any APP2, so MPF offsets (which are relative
 * to the MPF header) stay valid. Returns a new JPEG; the image data is copied unchanged.
 */
export function withXmpDescription(jpeg: Uint8Array, description: string): Uint8Array {
  const segments = headerSegments(jpeg);
  const existing = segments.find((s) => isXmp(jpeg, s));
  let replaceFrom: number;
  let replaceTo: number;
  let packet: string;
  if (existing) {
    const old = new TextDecoder().decode(jpeg.subarray(existing.payload + XMP_ID_BYTES.byteLength, existing.end));
    const close = old.lastIndexOf('</rdf:RDF>');
    if (close < 0) throw invalid('its XMP packet has no rdf:RDF element');
    packet = `${old.slice(0, close)}${description}\n${old.slice(close)}`;
    replaceFrom = existing.start;
    replaceTo = existing.end;
  } else {
    packet = wrapXmpPacket(description);
    let at = 2;
    for (const s of segments) {
      const leading = s.marker === 0xe0 || (s.marker === 0xe1 && startsWith(jpeg, s.payload, EXIF_ID_BYTES));
      if (!leading) break;
      at = s.end;
    }
    replaceFrom = at;
    replaceTo = at;
  }
  const seg = xmpSegment(packet);
  const out = new Uint8Array(jpeg.byteLength - (replaceTo - replaceFrom) + seg.byteLength);
  out.set(jpeg.subarray(0, replaceFrom), 0);
  out.set(seg, replaceFrom);
  out.set(jpeg.subarray(replaceTo), replaceFrom + seg.byteLength);
  return out;
}

/** A complete XMP packet around one description. */
export function wrapXmpPacket(description: string): string {
  return (
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="keepsake">\n' +
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n' +
    `${description}\n` +
    '</rdf:RDF>\n' +
    '</x:xmpmeta>\n' +
    '<?xpacket end="w"?>'
  );
}
