import { describe, expect, it } from 'vitest';
import { withFixture } from './fixtures.test-helper.js';
import { findJpegEnd, readJpegExif, readJpegIcc, readJpegSegments, readJpegXmp } from './jpeg.js';
import { randomAccessFromBytes } from './random-access.js';
import { readExif } from './tiff.js';

describe('JPEG segments on real files', () => {
  it('train.jpg (iPhone 6s): APP1 Exif first, TIFF big-endian', async () => {
    await withFixture('live-photo/train.jpg', async (ra) => {
      const segments = await readJpegSegments(ra);
      expect(segments[0]).toMatchObject({ marker: 0xe1, offset: 2 });
      expect(segments.at(-1)?.marker).toBe(0xda);
      const tiff = await readJpegExif(ra, segments);
      expect(readExif(tiff!).model).toBe('iPhone 6s');
      expect(await findJpegEnd(ra, segments)).toBe(ra.size);
    });
  });

  it('pixel Motion Photo: main XMP, Extended XMP reassembled by GUID, ICC from APP2', async () => {
    await withFixture('motion-photo/pixel-motion-photo-shortened.jpg', async (ra) => {
      const xmp = await readJpegXmp(ra);
      expect(xmp.main).toContain('MotionPhoto="1"');
      expect(xmp.extendedGuid).toBe('68F0AB3C23C7ABEF1CCABA1C56F3594A');
      expect(new TextEncoder().encode(xmp.extended).byteLength).toBe(22600);
      expect(xmp.extended).toContain('GCamera:hdrp_makernote=');
      const icc = await readJpegIcc(ra);
      expect(icc?.byteLength).toBe(596);
      expect(String.fromCharCode(...icc!.subarray(36, 40))).toBe('acsp');
    });
  });

  it.each([
    ['motion-photo/ss-motion-photo-shortened.jpg', 20286],
    ['motion-photo/motion_photo.jpeg', 30821],
  ])('%s: end of the primary image at %i (before the appended video)', async (rel, end) => {
    await withFixture(rel, async (ra) => expect(await findJpegEnd(ra)).toBe(end));
  });

  it('noexif.jpg has no Exif', async () => {
    await withFixture('edge-cases/noexif.jpg', async (ra) => expect(await readJpegExif(ra)).toBeUndefined());
  });

  it('a segment length past the end of the file is MEDIA_MALFORMED', async () => {
    const bad = new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xf0, 0x45, 0x78]);
    await expect(readJpegSegments(randomAccessFromBytes(bad))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED', message: expect.stringContaining('at byte 2') });
  });

  it('a JPEG without EOI is MEDIA_MALFORMED, not a hang', async () => {
    const sos = [0xff, 0xda, 0, 4, 1, 2];
    const cut = new Uint8Array([0xff, 0xd8, ...sos, 0x10, 0xff, 0x00, 0x20, 0xff, 0xd0, 0x30]);
    await expect(findJpegEnd(randomAccessFromBytes(cut))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
  });
});
