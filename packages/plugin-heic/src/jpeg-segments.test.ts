import { readJpegExif, readJpegIcc, readJpegXmp, randomAccessFromBytes } from '@keepsake/media';
import { describe, expect, it } from 'vitest';
import { exifSegment, ICC_CHUNK, iccSegments, jpegSize, splitJpeg, withMetadataSegments, xmpSegment } from './jpeg-segments.js';

/** SOI, APP0 JFIF, APP1 (foreign Exif), COM (ffmpeg's signature), DQT stub, SOF0 64×32, SOS + 3 scan bytes, EOI. */
function encoderOutput(): Uint8Array {
  const app0 = [0xff, 0xe0, 0x00, 0x07, 0x4a, 0x46, 0x49, 0x46, 0x00];
  const app1 = [0xff, 0xe1, 0x00, 0x08, 0x45, 0x78, 0x69, 0x66, 0x00, 0x00];
  const com = [0xff, 0xfe, 0x00, 0x06, 0x4c, 0x61, 0x76, 0x63];
  const dqt = [0xff, 0xdb, 0x00, 0x03, 0x00];
  const sof = [0xff, 0xc0, 0x00, 0x08, 0x08, 0x00, 0x20, 0x00, 0x40, 0x00];
  const sos = [0xff, 0xda, 0x00, 0x02, 0x11, 0x22, 0x33, 0xff, 0xd9];
  return Uint8Array.from([0xff, 0xd8, ...app0, ...app1, ...com, ...dqt, ...sof, ...sos]);
}

describe('jpeg segments', () => {
  it('splits at SOS and reads the frame size', () => {
    const split = splitJpeg(encoderOutput());
    expect(split.segments.map((s) => s.marker)).toEqual([0xe0, 0xe1, 0xfe, 0xdb, 0xc0]);
    expect(jpegSize(split)).toEqual({ width: 64, height: 32 });
  });

  it('rejects non-JPEG and cut-off input', () => {
    expect(() => splitJpeg(new Uint8Array([1, 2, 3, 4]))).toThrow(/not a JPEG/);
    expect(() => splitJpeg(encoderOutput().subarray(0, 20))).toThrow();
  });

  it('replaces the encoder APP and COM segments with ours and keeps tables and scan byte for byte', async () => {
    const original = encoderOutput();
    const tiff = Uint8Array.from([0x4d, 0x4d, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const icc = new Uint8Array(ICC_CHUNK * 2 + 10).map((_, i) => i % 251);
    const xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>';
    const out = withMetadataSegments(original, [exifSegment(tiff), xmpSegment(xmp), ...iccSegments(icc)]);
    const split = splitJpeg(out);
    expect(split.segments.map((s) => s.marker)).toEqual([0xe1, 0xe1, 0xe2, 0xe2, 0xe2, 0xdb, 0xc0]);
    expect(out.subarray(split.scanStart)).toEqual(original.subarray(original.length - 9));
    // An independent reader finds what we wrote.
    const ra = randomAccessFromBytes(out);
    expect(await readJpegExif(ra)).toEqual(tiff);
    expect(await readJpegIcc(ra)).toEqual(icc);
    expect((await readJpegXmp(ra)).main).toContain('xmpmeta');
  });

  it('numbers ICC chunks from 1 and refuses oversize single segments', () => {
    const chunks = iccSegments(new Uint8Array(ICC_CHUNK + 1));
    expect(chunks.map((c) => [c[16], c[17]])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(() => exifSegment(new Uint8Array(70_000))).toThrow(RangeError);
  });
});
