import { describe, expect, it } from 'vitest';
import { withFixture } from './fixtures.test-helper.js';
import { readHeifExif } from './heif.js';
import { readJpegExif } from './jpeg.js';
import { readAppleMakerNote, readExif } from './tiff.js';

// Expected values from `exiftool -G1 -a -s -n` on the same files.
describe('readExif on real files', () => {
  it('IMG_2927.HEIC: dates with sub-seconds and offsets, Apple MakerNote', async () => {
    const exif = readExif((await withFixture('heic/IMG_2927.HEIC', (ra) => readHeifExif(ra)))!);
    expect(exif).toMatchObject({
      make: 'Apple',
      model: 'iPhone 11 Pro',
      orientation: 1,
      dateTimeOriginal: '2020:05:04 18:39:11',
      createDate: '2020:05:04 18:39:11',
      subSecTimeOriginal: '644',
      offsetTimeOriginal: '-04:00',
      offsetTime: '-04:00',
      exifImageWidth: 4032,
      exifImageHeight: 3024,
    });
    expect(exif.apple).toMatchObject({ contentIdentifier: '1745E022-9712-43C7-B024-F308EC6413CB', livePhotoVideoIndex: 38805504, makerNoteVersion: 11, imageCaptureType: 10 });
    expect(exif.gps).toBeUndefined();
  });

  it('IMG_2682.heic (iOS 12): GPS with time stamp, no offset, no ContentIdentifier', async () => {
    const exif = readExif((await withFixture('heic/IMG_2682.heic', (ra) => readHeifExif(ra)))!);
    expect(exif.offsetTimeOriginal).toBeUndefined();
    expect(exif.apple?.contentIdentifier).toBeUndefined();
    expect(exif.apple?.imageUniqueId).toBe('9B4585D7-AE5A-4679-B098-C883D2289C22');
    expect(exif.gps?.latitude).toBeCloseTo(41.2203, 6);
    expect(exif.gps?.longitude).toBeCloseTo(-96.071625, 6);
    expect(exif.gps?.altitude).toBeCloseTo(351.2669335, 5);
    expect(exif.gps?.dateStamp).toBe('2019:03:21');
    expect(exif.gps?.timeStamp?.[2]).toBeCloseTo(21.01, 5);
  });

  it('train.jpg: ContentIdentifier, Western longitude negative', async () => {
    const exif = readExif((await withFixture('live-photo/train.jpg', (ra) => readJpegExif(ra)))!);
    expect(exif.apple?.contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
    expect(exif.apple?.photoIdentifier).toBe('A1D9BEC5-45F2-4171-84C7-5B4E6293047B');
    expect(exif.gps?.longitude).toBeCloseTo(-0.895530555555556, 9);
    expect(exif.offsetTimeOriginal).toBe('+01:00');
    expect(exif.subSecTimeOriginal).toBe('814');
  });

  it('samsung-one-ui-6.heic: little-endian TIFF', async () => {
    const exif = readExif((await withFixture('motion-photo/samsung-one-ui-6.heic', (ra) => readHeifExif(ra)))!);
    expect(exif).toMatchObject({ littleEndian: true, make: 'samsung', model: 'SM-S906U', orientation: 6, offsetTimeOriginal: '-08:00', dateTimeOriginal: '2024:01:12 21:38:53' });
    expect(exif.apple).toBeUndefined();
  });

  it('spatial_photo.heic: GPS 0,0 means no fix', async () => {
    const exif = readExif((await withFixture('edge-cases/spatial_photo.heic', (ra) => readHeifExif(ra)))!);
    expect(exif.gps?.latitude).toBeUndefined();
    expect(exif.modifyDate).toBe('2024-04-22T14:38:09GMT+2');
  });
});

describe('readExif on hostile input', () => {
  it('an IFD whose next/sub-IFD pointers loop back terminates', () => {
    // MM, IFD0 at 8: 1 entry ExifIFD (0x8769 LONG 1) pointing at 8 itself.
    const t = new Uint8Array([0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 8]);
    expect(readExif(t)).toEqual({ littleEndian: false });
  });

  it('values pointing outside the data are skipped', () => {
    // IFD0: Make ASCII count 100 at offset 0xFFFF.
    const t = new Uint8Array([0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x0f, 0, 2, 0, 0, 0, 100, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
    expect(readExif(t).make).toBeUndefined();
  });

  it('rejects bytes that are not TIFF', () => {
    expect(() => readExif(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(expect.objectContaining({ code: 'MEDIA_MALFORMED' }));
  });

  it('Apple MakerNote offsets are relative to the MakerNote start', () => {
    const enc = new TextEncoder();
    const id = enc.encode('E905E6C6-C747-4805-942F-9904A0281F02\0');
    const head = new Uint8Array(16 + 12 + 4);
    head.set(enc.encode('Apple iOS\0'), 0);
    const dv = new DataView(head.buffer);
    dv.setUint16(10, 1);
    head.set(enc.encode('MM'), 12);
    dv.setUint16(14, 1);
    dv.setUint16(16, 0x0011);
    dv.setUint16(18, 2);
    dv.setUint32(20, id.byteLength);
    dv.setUint32(24, head.byteLength);
    const note = new Uint8Array([...head, ...id]);
    expect(readAppleMakerNote(note).contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
  });
});
