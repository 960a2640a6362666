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
