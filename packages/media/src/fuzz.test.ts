import { readFile } from 'node:fs/promises';
import { isKeepsakeError } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { detectCaptureDate } from './capture-date.js';
import { fixture } from './fixtures.test-helper.js';
import { readHeif, readHeifGrid, readHeifIcc } from './heif.js';
import { findJpegEnd, readJpegIcc, readJpegXmp } from './jpeg.js';
import { malformed } from './malformed.js';
import { readMediaInfo, sniffFormat } from './media-info.js';
import { readQuickTimeMetadata } from './quicktime.js';
import { type RandomAccess, randomAccessFromBytes } from './random-access.js';

/** KEEPSAKE_FUZZ raises the count for a longer local hunt. */
const ITERATIONS = Number(process.env.KEEPSAKE_FUZZ ?? 150);

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Damages the bytes where metadata lives (the start and the end), or cuts the file short. */
function mutate(original: Uint8Array, rand: () => number): Uint8Array {
  if (rand() < 0.15) return original.subarray(0, Math.floor(rand() * original.byteLength));
  const out = original.slice();
  const edits = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < edits; i++) {
    const nearEnd = rand() < 0.4;
    const span = Math.min(out.byteLength, nearEnd ? 16_384 : 8_192);
    const at = nearEnd ? out.byteLength - 1 - Math.floor(rand() * span) : Math.floor(rand() * span);
    // Lengths and counts are where parsers go wrong: favour 0x00, 0xFF and random bytes.
    const r = rand();
    out[at] = r < 0.3 ? 0xff : r < 0.5 ? 0 : Math.floor(rand() * 256);
  }
  return out;
}

async function everyReader(ra: RandomAccess): Promise<void> {
  await readMediaInfo(ra);
  await detectCaptureDate({ name: 'x', ra });
  const format = await sniffFormat(ra);
  if (format === 'jpeg') {
    await readJpegXmp(ra);
    await readJpegIcc(ra);
    await findJpegEnd(ra);
  } else if (format === 'heif') {
    const h = await readHeif(ra);
    await readHeifIcc(ra, h);
    await readHeifGrid(ra, h, h.primaryItemId);
  } else if (format === 'quicktime') {
    await readQuickTimeMetadata(ra);
  } else {
    // A damaged signature: the file is simply not recognised.
    throw malformed('Unrecognised', 0);
  }
}

describe('damaged input never escapes as anything but MEDIA_MALFORMED', () => {
  it.each(['heic/IMG_2927.HEIC', 'motion-photo/sample_MP.heic', 'live-photo/train.mov', 'video/meta.mov', 'motion-photo/ss-motion-photo-shortened.jpg', 'edge-cases/exif-at-eof.heic'])(
    `%s × ${ITERATIONS} mutations`,
    async (rel) => {
      const original = new Uint8Array(await readFile(fixture(rel)));
      const rand = rng(rel.length * 7919);
      const outcomes = { read: 0, malformed: 0 };
      for (let i = 0; i < ITERATIONS; i++) {
        const bytes = mutate(original, rand);
        try {
          await everyReader(randomAccessFromBytes(bytes));
          outcomes.read++;
        } catch (err) {
          if (!(isKeepsakeError(err) && err.code === 'MEDIA_MALFORMED')) {
            throw new Error(`mutation ${i} of ${rel}: ${(err as Error)?.stack ?? String(err)}`);
          }
          outcomes.malformed++;
        }
      }
      // Both outcomes occur: the mutations reach the structures, and tolerable damage is tolerated.
      expect(outcomes.read).toBeGreaterThan(0);
      expect(outcomes.malformed).toBeGreaterThan(0);
    },
    30_000,
  );
});
