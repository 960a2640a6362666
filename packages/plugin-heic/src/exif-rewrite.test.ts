import { readExif, readHeifExif, withFile } from '@keepsake/media';
import { describe, expect, it } from 'vitest';
import { ExifRewriteError, rewriteExifForJpeg } from './exif-rewrite.js';
import { FIXTURES } from './test-helpers.test-helper.js';


/** A minimal TIFF: IFD0 {Orientation, TileWidth, TileLength, ExifIFD}, ExifIFD {A002, A003}. */
function tiff(little: boolean): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  b.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
  v.setUint16(2, 42, little);
  v.setUint32(4, 8, little);
  const entry = (at: number, tag: number, type: number, value: number) => {
    v.setUint16(at, tag, little);
    v.setUint16(at + 2, type, little);
    v.setUint32(at + 4, 1, little);
    if (type === 3) v.setUint16(at + 8, value, little);
    else v.setUint32(at + 8, value, little);
  };
  v.setUint16(8, 4, little);
  entry(10, 0x0112, 3, 6);
  entry(22, 0x0142, 4, 512);
  entry(34, 0x0143, 4, 512);
  entry(46, 0x8769, 4, 64);
  v.setUint32(58, 0, little);
  v.setUint16(64, 2, little);
  entry(66, 0xa002, 4, 4032);
  entry(78, 0xa003, 3, 3024);
  v.setUint32(90, 0, little);
  return b;
}

describe('rewriteExifForJpeg', () => {
  for (const little of [false, true]) {
    it(`resets Orientation, sets the output size and drops tile tags (${little ? 'II' : 'MM'})`, () => {
      const source = tiff(little);
      const out = rewriteExifForJpeg(source, { width: 3024, height: 4032 });
      const exif = readExif(out);
      expect(exif.orientation).toBe(1);
      expect(exif.exifImageWidth).toBe(3024);
      expect(exif.exifImageHeight).toBe(4032);
      const v = new DataView(out.buffer, out.byteOffset);
      expect(v.getUint16(8, little)).toBe(2); // Orientation + ExifIFD left in IFD0
      expect(v.getUint16(22, little)).toBe(0x8769);
      expect(readExif(source).orientation).toBe(6); // input untouched
    });
  }

  it('rejects bytes that are not TIFF', () => {
    expect(() => rewriteExifForJpeg(new TextEncoder().encode('not a tiff at all'), { width: 1, height: 1 })).toThrow(ExifRewriteError);
  });

  it('rejects an IFD that runs past the end', () => {
    const broken = tiff(false).subarray(0, 40);
    expect(() => rewriteExifForJpeg(broken, { width: 1, height: 1 })).toThrow(ExifRewriteError);
  });

  it('keeps date, offset, GPS and camera of a real iPhone HEIC while un-rotating', async () => {
    const source = await withFile(`${FIXTURES}/heic/Issue_263_dotnet.heic`, (ra) => readHeifExif(ra));
    expect(source).toBeDefined();
    const before = readExif(source as Uint8Array);
    expect(before.orientation).toBe(6);
    const after = readExif(rewriteExifForJpeg(source as Uint8Array, { width: 3024, height: 4032 }));
    expect(after.orientation).toBe(1);
    expect([after.exifImageWidth, after.exifImageHeight]).toEqual([3024, 4032]);
    expect(after.dateTimeOriginal).toBe('2019:08:21 11:21:36');
    expect(after.model).toBe('iPhone XR');
    expect(after.gps).toEqual(before.gps);
    expect(after.apple?.contentIdentifier).toBe(before.apple?.contentIdentifier);
  });
});
