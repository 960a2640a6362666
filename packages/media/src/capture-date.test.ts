import type { Diagnostic } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { captureDateFrom, detectCaptureDate, livePhotoCaptureDate } from './capture-date.js';
import { withFixture } from './fixtures.test-helper.js';
import { randomAccessFromBytes } from './random-access.js';

const detect = (rel: string, name = rel.split('/').pop()!) => withFixture(rel, (ra) => detectCaptureDate({ name, ra, mtimeMs: Date.parse('2025-01-01T00:00:00Z') }));

describe('detectCaptureDate on real files (exiftool values)', () => {
  it.each([
    ['heic/IMG_2927.HEIC', { local: '2020-05-04T18:39:11.644', offset: '-04:00', source: 'exif' }],
    ['edge-cases/exif-at-eof.heic', { local: '2020-05-04T18:39:11.644', offset: '-04:00', source: 'exif' }],
    ['live-photo/train.jpg', { local: '2021-04-10T11:44:00.814', offset: '+01:00', source: 'exif' }],
    // iOS 12: no OffsetTimeOriginal, offset from GPS time (America/Chicago CDT).
    ['heic/IMG_2682.heic', { local: '2019-03-21T11:04:22.348', offset: '-05:00', source: 'exif' }],
    // GPS date but no GPS time: the offset stays unknown, never the host's.
    ['heic/Issue_263_dotnet.heic', { local: '2019-08-21T11:21:36.245', source: 'exif' }],
    ['motion-photo/samsung-one-ui-6.heic', { local: '2024-01-12T21:38:53.853', offset: '-08:00', source: 'exif' }],
    // Vision Pro: only XMP xmp:CreateDate with a GMT+02:00 suffix.
    ['edge-cases/spatial_photo.heic', { local: '2024-04-22T14:38:09.526', offset: '+02:00', source: 'xmp' }],
    ['live-photo/train.mov', { local: '2021-04-10T11:43:59', offset: '+01:00', source: 'quicktime' }],
    // mvhd says 2024 (re-exported), Keys keep the capture time.
    ['video/meta.mov', { local: '2019-02-12T15:27:12', offset: '+08:00', source: 'quicktime' }],
  ])('%s', async (rel, expected) => {
    expect(await detect(rel)).toEqual(expected);
  });

  it('damaged files fall back to the name, then mtime, with a warning', async () => {
    const diagnostics: Diagnostic[] = [];
    const date = await withFixture('edge-cases/truncated.heic', (ra) =>
      detectCaptureDate({ name: 'IMG_20190704_101500.heic', ra, mtimeMs: 0, onDiagnostic: (d) => diagnostics.push(d) }),
    );
    expect(date).toEqual({ local: '2019-07-04T10:15:00', source: 'filename' });
    expect(diagnostics).toEqual([expect.objectContaining({ level: 'warning', source: 'media:malformed' })]);
  });

  it('no metadata, no pattern: mtime as a UTC instant', async () => {
    const date = await withFixture('edge-cases/noexif.jpg', (ra) => detectCaptureDate({ name: 'noexif.jpg', ra, mtimeMs: Date.parse('2022-06-01T08:30:00.250Z') }));
    expect(date).toEqual({ local: '2022-06-01T08:30:00.250', offset: '+00:00', source: 'mtime' });
  });

  it('unknown bytes, no name pattern, no mtime: undefined', async () => {
    expect(await detectCaptureDate({ name: 'x.bin', ra: randomAccessFromBytes(new Uint8Array(16)) })).toBeUndefined();
  });
});

describe('captureDateFrom precedence', () => {
  const base = { name: 'IMG_0001.HEIC' };
  it('DateTimeOriginal beats CreateDate, XMP and ModifyDate', () => {
    const d = captureDateFrom(
      { format: 'heif', exif: { littleEndian: false, dateTimeOriginal: '2020:01:01 10:00:00', createDate: '2020:01:02 10:00:00', modifyDate: '2020:01:03 10:00:00' }, xmp: '<x xmp:CreateDate="2020-01-04T10:00:00"/>' },
      base,
    );
    expect(d).toEqual({ local: '2020-01-01T10:00:00', source: 'exif' });
  });

  it('XMP beats ModifyDate; ModifyDate beats GPS; GPS alone is a UTC instant', () => {
    expect(captureDateFrom({ format: 'jpeg', exif: { littleEndian: false, modifyDate: '2020:01:03 10:00:00' }, xmp: '<exif:DateTimeOriginal>2020-01-04T10:00:00+02:00</exif:DateTimeOriginal>' }, base)).toEqual({
      local: '2020-01-04T10:00:00',
      offset: '+02:00',
      source: 'xmp',
    });
    expect(captureDateFrom({ format: 'jpeg', exif: { littleEndian: false, modifyDate: '2020:01:03 10:00:00', gps: { dateStamp: '2020:01:03', timeStamp: [9, 0, 0] } } }, base)).toEqual({
      local: '2020-01-03T10:00:00',
      source: 'metadata',
    });
    expect(captureDateFrom({ format: 'jpeg', exif: { littleEndian: false, gps: { dateStamp: '2020:01:03', timeStamp: [9, 0, 0] } } }, base)).toEqual({
      local: '2020-01-03T09:00:00',
      offset: '+00:00',
      source: 'gps',
    });
  });

  it('DateTimeOriginal without OffsetTimeOriginal takes OffsetTimeDigitized, then OffsetTime (same capture), before a GPS guess', () => {
    const exif = { littleEndian: false, dateTimeOriginal: '2022:09:23 13:30:04', subSecTimeOriginal: '630' };
    expect(captureDateFrom({ format: 'jpeg', exif: { ...exif, offsetTime: '+01:00' } }, base)).toEqual({ local: '2022-09-23T13:30:04.630', offset: '+01:00', source: 'exif' });
    expect(captureDateFrom({ format: 'jpeg', exif: { ...exif, offsetTime: '+01:00', offsetTimeDigitized: '+02:00' } }, base)?.offset).toBe('+02:00');
    // A blank OffsetTimeOriginal does not hide the others.
    expect(captureDateFrom({ format: 'jpeg', exif: { ...exif, offsetTimeOriginal: '   :  ', offsetTime: '-07:00' } }, base)?.offset).toBe('-07:00');
    expect(
      captureDateFrom({ format: 'jpeg', exif: { ...exif, offsetTime: '+01:00', gps: { dateStamp: '2022:09:23', timeStamp: [20, 30, 4] } } }, base)?.offset,
    ).toBe('+01:00');
    // CreateDate prefers OffsetTimeDigitized, then the others.
    expect(captureDateFrom({ format: 'jpeg', exif: { littleEndian: false, createDate: '2022:09:23 13:30:04', offsetTime: '+05:30' } }, base)).toEqual({
      local: '2022-09-23T13:30:04',
      offset: '+05:30',
      source: 'exif',
    });
  });

  it('a 0000:00:00 DateTimeOriginal falls through to CreateDate with its own sub-seconds and offset', () => {
    expect(
      captureDateFrom(
        { format: 'jpeg', exif: { littleEndian: false, dateTimeOriginal: '0000:00:00 00:00:00', createDate: '2020:01:02 10:00:00', subSecTimeDigitized: '5', offsetTimeDigitized: '+09:00' } },
        base,
      ),
    ).toEqual({ local: '2020-01-02T10:00:00.500', offset: '+09:00', source: 'exif' });
  });

  it('a zero mvhd is ignored; a plausible one is UTC', () => {
    expect(captureDateFrom({ format: 'quicktime', quicktime: { keys: {}, tracks: [], movie: { timescale: 600, duration: 1 } } }, { name: 'IMG_0001.MOV' })).toBeUndefined();
    expect(
      captureDateFrom({ format: 'quicktime', quicktime: { keys: {}, tracks: [], movie: { timescale: 600, duration: 1, creationTimeMs: Date.parse('2021-04-10T10:44:00Z') } } }, { name: 'IMG_0001.MOV' }),
    ).toEqual({ local: '2021-04-10T10:44:00', offset: '+00:00', source: 'metadata' });
  });
});

describe('livePhotoCaptureDate', () => {
  const still = { local: '2021-04-10T11:44:00.814', source: 'exif' } as const;
  const motion = { local: '2021-04-10T11:43:59', offset: '+01:00', source: 'quicktime' } as const;
  it('takes the offset from the video when the still has none', () => {
    expect(livePhotoCaptureDate(still, motion)).toEqual({ local: '2021-04-10T11:44:00.814', offset: '+01:00', source: 'exif' });
  });
  it('keeps a still that has its own offset', () => {
    expect(livePhotoCaptureDate({ ...still, offset: '+02:00' }, motion)?.offset).toBe('+02:00');
  });
  it('a still without a metadata date takes the video date as partner', () => {
    expect(livePhotoCaptureDate({ local: '2021-04-10T10:00:00', offset: '+00:00', source: 'mtime' }, motion)).toEqual({ ...motion, source: 'partner' });
  });
  it('neither has metadata: the still fallback stays', () => {
    const m = { local: '2021-04-10T10:00:00', offset: '+00:00', source: 'mtime' } as const;
    expect(livePhotoCaptureDate(m, undefined)).toBe(m);
  });
});
