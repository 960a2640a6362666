import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { headerSegments, readJpegXmp, withXmpDescription, wrapXmpPacket } from './jpeg-xmp.js';
import { isMotionPhotoJpeg, motionPhotoDescription } from './motion-photo.js';
import { TRAIN_JPG } from './test-helpers.js';

function segment(marker: number, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(4 + body.byteLength);
  out.set([0xff, marker, ((body.byteLength + 2) >> 8) & 0xff, (body.byteLength + 2) & 0xff]);
  out.set(body, 4);
  return out;
}

/** SOI, the given segments, SOS with a few bytes of "scan data", EOI. */
function jpegOf(...segments: Uint8Array[]): Uint8Array {
  const parts = [new Uint8Array([0xff, 0xd8]), ...segments, segment(0xda, new Uint8Array(10)), new Uint8Array([1, 2, 3, 0xff, 0xd9])];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const exif = segment(0xe1, 'Exif\0\0MM\0*\0\0\0\x08\0\0');
const mpf = segment(0xe2, 'MPF\0II*\0');
const description = motionPhotoDescription({ videoLength: 1234, presentationTimestampUs: 480000 });

describe('withXmpDescription', () => {
  it('adds an XMP segment right after Exif and before APP2 (MPF offsets stay valid)', () => {
    const out = withXmpDescription(jpegOf(exif, mpf, segment(0xdb, new Uint8Array(65))), description);
    const markers = headerSegments(out).map((s) => s.marker.toString(16));
    expect(markers).toEqual(['e1', 'e1', 'e2', 'db']);
    expect(readJpegXmp(out)).toContain('GCamera:MotionPhoto="1"');
    expect(readJpegXmp(out)).toContain('Item:Length="1234"');
    expect(isMotionPhotoJpeg(out)).toBe(true);
    // Everything from SOS on is copied unchanged.
    expect(Array.from(out.subarray(-5))).toEqual([1, 2, 3, 0xff, 0xd9]);
  });

  it('merges into an existing XMP packet and keeps its properties', () => {
    const existing = wrapXmpPacket('<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/>');
    const out = withXmpDescription(jpegOf(exif, segment(0xe1, `http://ns.adobe.com/xap/1.0/\0${existing}`)), description);
    const xmp = readJpegXmp(out)!;
    expect(xmp).toContain('xmp:Rating="5"');
    expect(xmp).toContain('GCamera:MotionPhotoVersion="1"');
    expect(headerSegments(out).filter((s) => s.marker === 0xe1)).toHaveLength(2);
  });

  it('keeps the real iPhone JPEG decodable: Exif first, then XMP, then the rest', () => {
    const jpg = new Uint8Array(readFileSync(TRAIN_JPG));
    const before = headerSegments(jpg);
    const out = withXmpDescription(jpg, description);
    const after = headerSegments(out);
    expect(after).toHaveLength(before.length + 1);
    expect(out.byteLength).toBe(jpg.byteLength + (after[1]!.end - after[1]!.start));
  });

  it('rejects what is not a JPEG, or is cut in the header', () => {
    expect(() => withXmpDescription(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0]), description)).toThrow(expect.objectContaining({ code: 'JPEG_INVALID' }));
    const cut = jpegOf(exif).subarray(0, 12);
    expect(() => withXmpDescription(cut, description)).toThrow(expect.objectContaining({ code: 'JPEG_INVALID' }));
  });

  it('refuses XMP that does not fit one segment', () => {
    expect(() => withXmpDescription(jpegOf(exif), `<rdf:Description rdf:about="" x="${'a'.repeat(70_000)}"/>`)).toThrow(expect.objectContaining({ code: 'XMP_TOO_LARGE' }));
  });
});

describe('motionPhotoDescription', () => {
  it('writes −1 when the still time is unknown and refuses an empty video', () => {
    expect(motionPhotoDescription({ videoLength: 10, presentationTimestampUs: Number.NaN })).toContain('MotionPhotoPresentationTimestampUs="-1"');
    expect(() => motionPhotoDescription({ videoLength: 0, presentationTimestampUs: 0 })).toThrow(RangeError);
  });
});
