import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenOptions } from '@keepsake/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_METADATA_READ, randomAccessFromFile, randomAccessFromOpen } from './random-access.js';

const data = new Uint8Array(300_000).map((_, i) => (i * 7 + (i >> 8)) & 255);
let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-ra-'));
  file = join(dir, 'blob.bin');
  await writeFile(file, data);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('randomAccessFromFile', () => {
  it('reads ranges anywhere, across cache blocks and at the end', async () => {
    const ra = await randomAccessFromFile(file);
    try {
      expect(ra.size).toBe(data.byteLength);
      expect(await ra.read(10, 5)).toEqual(data.subarray(10, 15));
      expect(await ra.read(65_530, 20)).toEqual(data.subarray(65_530, 65_550));
      expect(await ra.read(299_990, 100)).toEqual(data.subarray(299_990));
      expect((await ra.read(300_000, 10)).byteLength).toBe(0);
      expect(await ra.read(1000, 200_000)).toEqual(data.subarray(1000, 201_000));
    } finally {
      await ra.close?.();
    }
  });

  it('refuses absurd reads instead of allocating them', async () => {
    const ra = await randomAccessFromFile(file);
    try {
      await expect(ra.read(0, MAX_METADATA_READ + 1)).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
      await expect(ra.read(-1, 4)).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
    } finally {
      await ra.close?.();
    }
  });
});

describe('randomAccessFromOpen', () => {
  it('opens at the requested offset and never streams the whole resource', async () => {
    const opens: number[] = [];
    let delivered = 0;
    const open = (o?: OpenOptions) =>
      (async function* () {
        opens.push(o?.offset ?? 0);
        for (let pos = o?.offset ?? 0; pos < data.byteLength; pos += 16_384) {
          const chunk = data.subarray(pos, Math.min(data.byteLength, pos + 16_384));
          delivered += chunk.byteLength;
          yield chunk;
        }
      })();
    const ra = randomAccessFromOpen(open, data.byteLength);
    expect(await ra.read(299_000, 1000)).toEqual(data.subarray(299_000));
    expect(await ra.read(299_500, 10)).toEqual(data.subarray(299_500, 299_510)); // cached block
    expect(await ra.read(5, 3)).toEqual(data.subarray(5, 8));
    expect(opens).toEqual([4 * 65_536, 0]);
    expect(delivered).toBeLessThan(data.byteLength / 2);
  });
});
