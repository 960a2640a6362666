import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sink } from '@keepsake/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { folderSink } from './index.js';
import { asset, bytesResource, factoryContext, putContext, text } from './test-support.js';

// The read-back sees other bytes than were written (a bad cable, a lying cache) for files named *.MOV.
vi.mock('@keepsake/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@keepsake/core')>();
  return {
    ...core,
    hashFile: async (path: string, names?: readonly string[], signal?: AbortSignal) => {
      const r = await core.hashFile(path, names as never, signal);
      return path.endsWith('.MOV') ? { ...r, hashes: Object.fromEntries(Object.keys(r.hashes).map((k) => [k, '00000000'])) } : r;
    },
  };
});

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'folder-readback-'));
  await mkdir(join(base, 'photos'));
});
afterEach(() => rm(base, { recursive: true, force: true }));

describe('folder sink: read-back mismatch', () => {
  it('fails the put with VERIFY_MISMATCH and leaves no part of the asset behind', async () => {
    const s = (await folderSink.create({ path: 'photos' } as never, factoryContext(base))) as Sink;
    const put = s.put(
      asset('a/IMG_0001', [bytesResource('IMG_0001.HEIC', text('still')), bytesResource('IMG_0001.MOV', new Uint8Array(200_000).fill(3), { role: 'motion' })], { kind: 'live' }),
      putContext(),
    );
    await expect(put).rejects.toMatchObject({ code: 'VERIFY_MISMATCH' });
    const left = await readdir(join(base, 'photos'), { recursive: true, withFileTypes: true });
    expect(left.filter((e) => e.isFile()).map((e) => e.name)).toEqual([]);
  });

  it('a file whose read-back matches is delivered as verified', async () => {
    const s = (await folderSink.create({ path: 'photos' } as never, factoryContext(base))) as Sink;
    const receipt = await s.put(asset('a/IMG_0002', [bytesResource('IMG_0002.HEIC', text('fine'))]), putContext());
    expect(receipt.items[0]).toMatchObject({ verified: true, location: '2021/04/IMG_0002.HEIC' });
  });
});
