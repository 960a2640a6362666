import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { fixture, withFixture } from './fixtures.test-helper.js';
import { parseIso6709, readQuickTimeMetadata } from './quicktime.js';
import { randomAccessFromBytes } from './random-access.js';

describe('readQuickTimeMetadata', () => {
  it('train.mov (Live Photo): Keys, mvhd, tracks, still-image time with the edit list applied', async () => {
    const q = await withFixture('live-photo/train.mov', readQuickTimeMetadata);
    expect(q.contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
    expect(q.creationDate).toBe('2021-04-10T11:43:59+0100');
    expect(q.keys['com.apple.quicktime.model']).toBe('iPhone 6s');
    expect(q.movie).toMatchObject({ timescale: 600, creationTimeMs: Date.parse('2021-04-10T10:44:00Z') });
    expect(q.movie?.duration).toBeCloseTo(740 / 600, 9);
    expect(q.tracks.map((t) => [t.handler, t.format])).toEqual([
      ['vide', 'avc1'],
      ['soun', 'lpcm'],
      ['meta', 'mebx'],
      ['meta', 'mebx'],
    ]);
    expect(q.tracks[0]).toMatchObject({ width: 1440, height: 1080 });
    expect(q.tracks[3]?.metadataKeys).toEqual(['com.apple.quicktime.still-image-time']);
    // ffprobe: stream 3 start_pts=288 → 0.48 s (exiftool's 0 s ignores elst).
    expect(q.stillImageTimeUs).toBe(480_000);
  });

  it('meta.mov: Keys date kept although mvhd was rewritten later; no still-image time', async () => {
    const q = await withFixture('video/meta.mov', readQuickTimeMetadata);
    expect(q.creationDate).toBe('2019-02-12T15:27:12+08:00');
    expect(q.movie?.creationTimeMs).toBe(Date.parse('2024-02-02T08:09:57Z'));
    expect(q.contentIdentifier).toBeUndefined();
    expect(q.stillImageTimeUs).toBeUndefined();
    expect(q.tracks[3]?.metadataKeys).toEqual(['com.apple.quicktime.video-orientation']);
    expect(parseIso6709(String(q.keys['com.apple.quicktime.location.ISO6709']))).toEqual({ latitude: 27.1281, longitude: 100.2508, altitude: 0 });
  });

  it('junk appended after moov does not hide the metadata', async () => {
    const original = new Uint8Array(await readFile(fixture('video/meta.mov')));
    const junk = new Uint8Array(64).fill(0xee);
    const q = await readQuickTimeMetadata(randomAccessFromBytes(new Uint8Array([...original, ...junk])));
    expect(q.creationDate).toBe('2019-02-12T15:27:12+08:00');
  });

  it('a file without moov is MEDIA_MALFORMED', async () => {
    const free = new Uint8Array([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65]);
    await expect(readQuickTimeMetadata(randomAccessFromBytes(free))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
  });
});

const enc = (s: string) => new TextEncoder().encode(s);
const u32 = (...v: number[]) => {
  const b = new Uint8Array(4 * v.length);
  for (const [i, x] of v.entries()) new DataView(b.buffer).setUint32(4 * i, x);
  return b;
};
function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const body = parts.flatMap((p) => [...p]);
  return new Uint8Array([...u32(8 + body.length), ...enc(type), ...body]);
}

/** `meta` (FullBox) + `hdlr mdta` + `keys` + `ilst` with UTF-8 values, as ffmpeg writes into moov/udta. */
function udtaKeys(entries: [string, string][]): Uint8Array {
  const keys = box('keys', u32(0, entries.length), ...entries.map(([k]) => new Uint8Array([...u32(8 + enc(k).length), ...enc('mdta'), ...enc(k)])));
  const items = entries.map(([, v], i) => new Uint8Array([...u32(8 + 16 + enc(v).length, i + 1), ...box('data', u32(1, 0), enc(v))]));
  const hdlr = box('hdlr', u32(0, 0), enc('mdta'), u32(0, 0, 0), new Uint8Array([0]));
  return box('udta', box('meta', u32(0), hdlr, keys, box('ilst', ...items)));
}

/** mvhd version 1: 64-bit times. */
function mvhdV1(created: bigint): Uint8Array {
  const b = new Uint8Array(4 + 8 + 8 + 4 + 8 + 80);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, 1);
  dv.setBigUint64(4, created);
  dv.setBigUint64(12, created);
  dv.setUint32(20, 600);
  dv.setBigUint64(24, 740n);
  return box('mvhd', b);
}

describe('readQuickTimeMetadata on MP4s written by other tools', () => {
  const ftyp = box('ftyp', enc('isom'), u32(512), enc('isomiso2avc1mp41'));
  it('Keys in moov/udta/meta (ffmpeg -movflags use_metadata_tags, keepsake\'s own MP4s) are read; mvhd v1 is 64-bit', async () => {
    const mp4 = new Uint8Array([
      ...ftyp,
      ...box(
        'moov',
        mvhdV1(3_700_896_240n),
        udtaKeys([
          ['major_brand', 'qt  '],
          ['com.apple.quicktime.content.identifier', 'E905E6C6-C747-4805-942F-9904A0281F02'],
          ['com.apple.quicktime.creationdate', '2021-04-10T11:43:59+0100'],
        ]),
      ),
    ]);
    const q = await readQuickTimeMetadata(randomAccessFromBytes(mp4));
    expect(q.contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
    expect(q.creationDate).toBe('2021-04-10T11:43:59+0100');
    expect(q.movie).toMatchObject({ timescale: 600, creationTimeMs: Date.parse('2021-04-10T10:44:00Z') });
  });

  it('moov/meta wins over moov/udta/meta', async () => {
    const udta = udtaKeys([['com.apple.quicktime.creationdate', '2030-01-01T00:00:00Z']]);
    const moovMeta = udtaKeys([['com.apple.quicktime.creationdate', '2021-04-10T11:43:59+0100']]).subarray(8); // the meta box alone
    const q = await readQuickTimeMetadata(randomAccessFromBytes(new Uint8Array([...ftyp, ...box('moov', udta, moovMeta)])));
    expect(q.creationDate).toBe('2021-04-10T11:43:59+0100');
  });
});
