import { describe, expect, it } from 'vitest';
import { fromInstant, gpsInstant, normalizeOffset, offsetFromUtc, parseDateTime, toInstant } from './dates.js';
import { dateFromFilename } from './filename-date.js';

describe('parseDateTime', () => {
  it.each([
    ['2020:05:04 18:39:11', {}, { local: '2020-05-04T18:39:11' }],
    ['2020:05:04 18:39:11', { subSec: '644', offset: '-04:00' }, { local: '2020-05-04T18:39:11.644', offset: '-04:00' }],
    ['2021:04:10 11:44:00', { subSec: '8' }, { local: '2021-04-10T11:44:00.800' }],
    ['2020:12:17 10:03:00', { subSec: '546073' }, { local: '2020-12-17T10:03:00.546' }],
    ['2021-04-10T11:43:59+0100', {}, { local: '2021-04-10T11:43:59', offset: '+01:00' }],
    ['2019-02-12T15:27:12+08:00', {}, { local: '2019-02-12T15:27:12', offset: '+08:00' }],
    ['2024-04-22T14:38:09GMT+2', {}, { local: '2024-04-22T14:38:09', offset: '+02:00' }],
    ['2024-04-22T14:38:09.526GMT+02:00', {}, { local: '2024-04-22T14:38:09.526', offset: '+02:00' }],
    ['2020-05-04T18:39:11.644', {}, { local: '2020-05-04T18:39:11.644' }],
    ['2020-05-04T22:39:11Z', {}, { local: '2020-05-04T22:39:11', offset: '+00:00' }],
    ['2020:05:04 18:39', {}, { local: '2020-05-04T18:39:00' }],
  ])('%s %j', (raw, extra, expected) => {
    expect(parseDateTime(raw, extra)).toEqual(expected);
  });

  it.each(['0000:00:00 00:00:00', '    :  :     :  :  ', '', '2020:02:30 10:00:00', '2020:13:01 10:00:00', '2020:01:01 24:00:00', 'yesterday'])('rejects %j', (raw) => {
    expect(parseDateTime(raw)).toBeUndefined();
  });

  it('an offset inside the string wins over OffsetTime*', () => {
    expect(parseDateTime('2021-04-10T11:43:59+0100', { offset: '+05:00' })?.offset).toBe('+01:00');
  });
});

describe('offsets', () => {
  it('normalises the forms cameras write', () => {
    expect(normalizeOffset('+0100')).toBe('+01:00');
    expect(normalizeOffset('-04:00')).toBe('-04:00');
    expect(normalizeOffset('GMT+2')).toBe('+02:00');
    expect(normalizeOffset('+05:45')).toBe('+05:45');
    expect(normalizeOffset('Z')).toBe('+00:00');
    expect(normalizeOffset('+15:00')).toBeUndefined();
    expect(normalizeOffset('abc')).toBeUndefined();
  });

  it('derives −05:00 from IMG_2682 (DTO 11:04:22 vs GPS 16:04:21.01 UTC)', () => {
    const utc = gpsInstant('2019:03:21', [16, 4, 21.01]);
    expect(utc).toBe(Date.parse('2019-03-21T16:04:21.010Z'));
    expect(offsetFromUtc('2019-03-21T11:04:22', utc!)).toBe('-05:00');
    expect(offsetFromUtc('2019-03-21T21:49:22', utc!)).toBe('+05:45');
    // Clocks 7 minutes apart do not look like a zone.
    expect(offsetFromUtc('2019-03-21T11:11:22', utc!)).toBeUndefined();
    expect(offsetFromUtc('2019-03-23T11:04:22', utc!)).toBeUndefined();
  });

  it('round-trips instants', () => {
    expect(toInstant({ local: '2020-05-04T18:39:11.644', offset: '-04:00' })).toBe(Date.parse('2020-05-04T22:39:11.644Z'));
    expect(fromInstant(Date.parse('2021-04-10T10:44:00Z'))).toEqual({ local: '2021-04-10T10:44:00', offset: '+00:00' });
  });
});

describe('dateFromFilename', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['IMG_20230101_120000.jpg', { local: '2023-01-01T12:00:00' }],
    ['VID_20230101_120000.mp4', { local: '2023-01-01T12:00:00' }],
    ['PXL_20230101_120000123.MP.jpg', { local: '2023-01-01T12:00:00.123', offset: '+00:00' }],
    ['MVIMG_20190101_120000.jpg', { local: '2019-01-01T12:00:00' }],
    ['20230101_120000.jpg', { local: '2023-01-01T12:00:00' }],
    ['2023-01-01 12.00.00.jpg', { local: '2023-01-01T12:00:00' }],
    ['IMG-20230101-WA0001.jpg', { local: '2023-01-01T00:00:00' }],
    ['Screenshot_20230101-120000.png', { local: '2023-01-01T12:00:00' }],
    ['Screenshot_2023-01-01-12-00-00.png', { local: '2023-01-01T12:00:00' }],
  ])('%s', (name, expected) => expect(dateFromFilename(name, now)).toEqual(expected));

  it.each([
    ['Screenshot 2023-01-15 at 12.34.56.png', { local: '2023-01-15T12:34:56' }],
    ['Screen Shot 2020-01-15 at 1.23.45 PM.png', { local: '2020-01-15T13:23:45' }],
    // macOS 13+ puts a narrow no-break space before AM/PM.
    ['Screenshot 2023-01-15 at 12.05.09\u202fAM.png', { local: '2023-01-15T00:05:09' }],
    ['Screenshot 2023-01-15 at 12.05.09 PM (2).png', { local: '2023-01-15T12:05:09' }],
    ['WhatsApp Image 2023-01-15 at 09.08.07.jpeg', { local: '2023-01-15T09:08:07' }],
    ['WhatsApp Video 2023-01-15 at 21.08.07 (1).mp4', { local: '2023-01-15T21:08:07' }],
  ])('macOS / WhatsApp name %s', (name, expected) => expect(dateFromFilename(name, now)).toEqual(expected));

  it.each(['Screen Shot 2020-01-15 at 13.23.45 PM.png', 'Screenshot 2023-01-15 at 0.05.09 AM.png', 'Screenshot 2023-02-30 at 12.34.56.png'])('no date from %s', (name) =>
    expect(dateFromFilename(name, now)).toBeUndefined(),
  );

  it.each(['IMG_2927.HEIC', 'IMG_20231301_120000.jpg', 'IMG_20230230_120000.jpg', 'IMG_20230101_250000.jpg', 'IMG_19800101_120000.jpg', 'IMG_20270101_120000.jpg'])(
    'no date from %s',
    (name) => expect(dateFromFilename(name, now)).toBeUndefined(),
  );
});
