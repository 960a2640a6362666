import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Diagnostic } from '@keepsake/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCaptureDate } from './capture-date.js';
import { fixture } from './fixtures.test-helper.js';
import { readMediaInfo } from './media-info.js';
import { type RandomAccess, randomAccessFromBytes, withFile } from './random-access.js';
import { readTiffExif } from './tiff.js';

// TIFF-structured files (TIFF, DNG/ProRAW) may put their IFDs anywhere: ffmpeg and libtiff write the
// image data first and IFD0 after it. The files here come from ffmpeg (the real writer) and exiftool
// (tags, MakerNote, DNG tags); exiftool itself puts IFD0 at byte 8, so `moveToEnd` re-lays its
// directories and their values after the image data the way libtiff does, and exiftool reads every
// result back as the reference.

const dir = mkdtempSync(join(tmpdir(), 'keepsake-tiff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1 << 20;
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };

function exiftool(...args: string[]): void {
  execFileSync('exiftool', ['-q', '-overwrite_original', ...args]);
}

/** exiftool's reading of `path` (`-n`: numbers and raw strings, as readExif returns them). */
function exiftoolJson(path: string, ...tags: string[]): Record<string, unknown> {
  return JSON.parse(execFileSync('exiftool', ['-j', '-n', '-G1', ...tags, path], { encoding: 'utf8' }))[0];
}

const ifd0Offset = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(4, b[0] === 0x49);

/**
 * Appends copies of IFD0 (and, with `exif`, the Exif IFD) with all their out-of-line values to the end
 * of the file and points the header (and IFD0's 0x8769) at the copies: the data stay valid TIFF, the
 * directories now follow the image data.
 */
function moveToEnd(file: Uint8Array, which: { ifd0: boolean; exif: boolean }): Uint8Array {
  const src = new Uint8Array(file); // a copy: Buffer#slice would not copy below
  const le = src[0] === 0x49;
  const chunks: Uint8Array[] = [src];
  let size = src.byteLength;
  const append = (bytes: Uint8Array): number => {
    if (size % 2) {
      chunks.push(new Uint8Array(1));
      size++;
    }
    const at = size;
    chunks.push(bytes);
    size += bytes.byteLength;
    return at;
  };
  const copyIfd = (offset: number, patch?: (tag: number, entry: DataView) => void): number => {
    const v = new DataView(src.buffer, src.byteOffset);
    const n = v.getUint16(offset, le);
    const ifd = src.slice(offset, offset + 2 + 12 * n + 4);
    const iv = new DataView(ifd.buffer);
    for (let i = 0; i < n; i++) {
      const e = 2 + 12 * i;
      const len = (TYPE_SIZE[iv.getUint16(e + 2, le)] ?? 0) * iv.getUint32(e + 4, le);
      if (len > 4) {
        const from = iv.getUint32(e + 8, le);
        iv.setUint32(e + 8, append(src.slice(from, from + len)), le);
      }
      patch?.(iv.getUint16(e, le), new DataView(ifd.buffer, e));
    }
    return append(ifd);
  };
  const head = src.slice(0, 8);
  const first = ifd0Offset(src);
  const patchExif = (tag: number, entry: DataView) => {
    if (which.exif && tag === 0x8769) entry.setUint32(8, copyIfd(entry.getUint32(8, le)), le);
  };
  if (which.ifd0) new DataView(head.buffer).setUint32(4, copyIfd(first, patchExif), le);
  else if (which.exif) {
    // Keep IFD0 where it is and patch its Exif pointer in place.
    const v = new DataView(src.buffer, src.byteOffset);
    const n = v.getUint16(first, le);
    for (let i = 0; i < n; i++) {
      const e = first + 2 + 12 * i;
      if (v.getUint16(e, le) === 0x8769) v.setUint32(e + 8, copyIfd(v.getUint32(e + 8, le)), le);
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  out.set(head, 0);
  return out;
}

/** Every range a reader asked for, to prove the file is read in small pieces only. */
function recording(ra: RandomAccess) {
  const reads: { offset: number; length: number }[] = [];
  const wrapped: RandomAccess = {
    size: ra.size,
    read: (offset, length) => {
      reads.push({ offset, length });
      return ra.read(offset, length);
    },
  };
  return { ra: wrapped, reads };
}

const bigTif = join(dir, 'ffmpeg.tif');
const tagged = join(dir, 'tagged.dng');
const TAGS = ['-Make=Apple', '-Model=iPhone 15 Pro', '-DateTimeOriginal=2023:07:14 09:30:05', '-SubSecTimeOriginal=250', '-OffsetTimeOriginal=+02:00'];

beforeAll(() => {
  // 1024×1024 RGB, PackBits: ~2.4 MB of strips, IFD0 after them.
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=1024x1024', '-frames:v', '1', bigTif]);
  writeFileSync(tagged, readFileSync(bigTif));
  // A DNG as exiftool writes one (DNGVersion makes it one), with train.jpg's Apple MakerNote (ContentIdentifier).
  exiftool('-tagsFromFile', fixture('live-photo/train.jpg'), '-MakerNotes', '-DNGVersion=1.6.0.0', '-UniqueCameraModel=Apple iPhone 15 Pro', ...TAGS, tagged);
});

describe('TIFF files with directories after the image data', () => {
  it('ffmpeg TIFF, IFD0 past the first MiB: read, not MEDIA_MALFORMED, in small reads', async () => {
    const bytes = readFileSync(bigTif);
    expect(ifd0Offset(bytes)).toBeGreaterThan(2 * MiB);
    const { ra, reads } = recording(randomAccessFromBytes(bytes));
    const info = await readMediaInfo(ra);
    expect(info.format).toBe('tiff');
    expect(info.exif?.software).toBe(exiftoolJson(bigTif, '-IFD0:Software')['IFD0:Software']);
    expect(info.exif?.software).toMatch(/^Lavc/);
    expect(reads.length).toBeLessThan(20);
    expect(Math.max(...reads.map((r) => r.length))).toBeLessThanOrEqual(64 * 1024);
  });

  for (const [name, which] of [
    ['IFD0 and Exif IFD', { ifd0: true, exif: true }],
    ['IFD0 only', { ifd0: true, exif: false }],
    ['Exif IFD only (IFD0 at byte 8)', { ifd0: false, exif: true }],
  ] as const) {
    it(`DNG with ${name} after 2.4 MB of image data: date, offset and ContentIdentifier as exiftool reads them`, async () => {
      const path = join(dir, `moved-${which.ifd0}-${which.exif}.dng`);
      writeFileSync(path, moveToEnd(readFileSync(tagged), which));
      const ref = exiftoolJson(path, '-File:FileType', '-IFD0:Make', '-IFD0:Model', '-ExifIFD:DateTimeOriginal', '-ExifIFD:OffsetTimeOriginal', '-Apple:MediaGroupUUID');
      expect(ref).toMatchObject({ 'File:FileType': 'DNG', 'IFD0:Make': 'Apple', 'ExifIFD:DateTimeOriginal': '2023:07:14 09:30:05' });
      const info = await withFile(path, readMediaInfo);
      expect(info.exif).toMatchObject({
        make: ref['IFD0:Make'],
        model: ref['IFD0:Model'],
        dateTimeOriginal: ref['ExifIFD:DateTimeOriginal'],
        offsetTimeOriginal: ref['ExifIFD:OffsetTimeOriginal'],
        subSecTimeOriginal: '250',
      });
      expect(info.contentIdentifier).toBe(ref['Apple:MediaGroupUUID']);
      const diagnostics: Diagnostic[] = [];
      const date = await withFile(path, (ra) => detectCaptureDate({ name: 'IMG_0001.DNG', ra, mtimeMs: Date.UTC(2025, 0, 2), onDiagnostic: (d) => diagnostics.push(d) }));
      expect(date).toEqual({ local: '2023-07-14T09:30:05.250', offset: '+02:00', source: 'exif' });
      expect(diagnostics).toEqual([]);
    });
  }
});

describe('damaged directories after the image data', () => {
  it('200 seeded mutations of the last 4 KiB (IFDs, values, MakerNote) only ever give MEDIA_MALFORMED', async () => {
    const original = moveToEnd(readFileSync(tagged), { ifd0: true, exif: true });
    let seed = 7;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let malformed = 0;
    for (let i = 0; i < 200; i++) {
      const bytes = original.slice();
      for (let k = 1 + Math.floor(rand() * 6); k > 0; k--) {
        const r = rand();
        bytes[bytes.byteLength - 1 - Math.floor(rand() * 4096)] = r < 0.3 ? 0xff : r < 0.5 ? 0 : Math.floor(rand() * 256);
      }
      const { ra, reads } = recording(randomAccessFromBytes(bytes));
      try {
        await readMediaInfo(ra);
      } catch (err) {
        expect(err).toMatchObject({ code: 'MEDIA_MALFORMED' });
        malformed++;
      }
      expect(reads.length).toBeLessThan(40);
      expect(Math.max(...reads.map((r) => r.length))).toBeLessThanOrEqual(1 << 20);
    }
    expect(malformed).toBeLessThan(200); // most damage only costs a tag, not the file
  });
});

/** Big-endian TIFF: `lead` bytes of "image data", then IFD0 with `entries` ([tag, type, count, value]). */
function tiffWithIfdAt(lead: number, entries: [number, number, number, number][], size = lead + 8 + 2 + 12 * entries.length + 4): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x4d, 0x4d, 0, 0x2a]);
  const ifd = 8 + lead;
  v.setUint32(4, ifd);
  v.setUint16(ifd, entries.length);
  entries.forEach(([tag, type, count, value], i) => {
    const e = ifd + 2 + 12 * i;
    v.setUint16(e, tag);
    v.setUint16(e + 2, type);
    v.setUint32(e + 4, count);
    v.setUint32(e + 8, value);
  });
  return b;
}

describe('readTiffExif on hostile files', () => {
  it('IFD0 past the end of the file is MEDIA_MALFORMED (really damaged)', async () => {
    const b = tiffWithIfdAt(0, []);
    new DataView(b.buffer).setUint32(4, 5 * MiB);
    await expect(readTiffExif(randomAccessFromBytes(b))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED', message: expect.stringContaining(`byte ${5 * MiB}`) });
  });

  it('Exif and GPS pointers that loop back to IFD0 (past the first MiB) end there', async () => {
    const lead = 2 * MiB;
    const b = tiffWithIfdAt(lead, [
      [0x8769, 4, 1, 8 + lead],
      [0x8825, 4, 1, 8 + lead],
    ]);
    const { ra, reads } = recording(randomAccessFromBytes(b));
    expect(await readTiffExif(ra)).toEqual({ littleEndian: false });
    expect(reads.length).toBeLessThanOrEqual(3);
  });

  it('an absurd entry count or value size costs no large read', async () => {
    const lead = 3 * MiB;
    const many = tiffWithIfdAt(lead, [], 8 + lead + 64);
    new DataView(many.buffer).setUint16(8 + lead, 0xffff);
    await expect(readTiffExif(randomAccessFromBytes(many))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
    // Make: ASCII with 4 G characters; Model: 2 MiB of text inside the file (over the 1 MiB value cap).
    const huge = tiffWithIfdAt(lead, [
      [0x010f, 2, 0xffffffff, 8],
      [0x0110, 2, 2 * MiB, 8],
    ]);
    const { ra, reads } = recording(randomAccessFromBytes(huge));
    expect(await readTiffExif(ra)).toEqual({ littleEndian: false });
    expect(Math.max(...reads.map((r) => r.length))).toBeLessThanOrEqual(24);
  });

  it('a directory cut short by the end of the file keeps its complete entries', async () => {
    const b = tiffWithIfdAt(MiB + 2, [[0x0112, 3, 1, 6 << 16]]);
    new DataView(b.buffer).setUint16(8 + MiB + 2, 40); // claims 40 entries, 1 is there
    expect(await readTiffExif(randomAccessFromBytes(b))).toEqual({ littleEndian: false, orientation: 6 });
  });
});
