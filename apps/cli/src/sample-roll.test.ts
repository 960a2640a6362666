import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exifSegment, writeSampleRoll } from './sample-roll.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('sample camera roll', () => {
  it('writes JPEGs with distinct bytes, one deliberate duplicate, and mtimes at capture time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ks-roll-'));
    dirs.push(dir);
    const files = await writeSampleRoll(dir, 6);
    const hashes = new Map<string, string[]>();
    for (const f of files) {
      const bytes = await readFile(f.path);
      if (f.path.endsWith('.JPG')) {
        expect(bytes[0]).toBe(0xff);
        expect(bytes[1]).toBe(0xd8);
        expect(bytes.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
      }
      const h = createHash('sha256').update(bytes).digest('hex');
      hashes.set(h, [...(hashes.get(h) ?? []), f.path]);
    }
    const dups = [...hashes.values()].filter((v) => v.length > 1);
    expect(dups).toHaveLength(1);
    expect(dups[0]!.map((p) => p.slice(dir.length))).toEqual(['/DCIM/100APPLE/IMG_0001.JPG', '/DCIM/101APPLE/IMG_0101.JPG']);
    expect((await stat(join(dir, 'DCIM/100APPLE/IMG_0001.JPG'))).mtime.toISOString()).toBe('2024-05-18T10:30:00.000Z');
  });

  it('encodes DateTimeOriginal and OffsetTimeOriginal in a well-formed APP1 segment', () => {
    const seg = Buffer.from(exifSegment('2024:05:18 12:30:00', '+02:00'));
    expect(seg.readUInt16BE(0)).toBe(0xffe1);
    expect(seg.readUInt16BE(2)).toBe(seg.length - 2);
    expect(seg.subarray(4, 10).toString('latin1')).toBe('Exif\0\0');
    const tiff = seg.subarray(10);
    const exifIfd = tiff.readUInt32BE(18);
    expect(tiff.readUInt16BE(exifIfd + 2)).toBe(0x9003);
    const at = tiff.readUInt32BE(exifIfd + 2 + 8);
    expect(tiff.subarray(at, at + 19).toString('latin1')).toBe('2024:05:18 12:30:00');
    const offAt = tiff.readUInt32BE(exifIfd + 14 + 8);
    expect(tiff.subarray(offAt, offAt + 6).toString('latin1')).toBe('+02:00');
  });
});
