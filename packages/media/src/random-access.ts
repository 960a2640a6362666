import { open } from 'node:fs/promises';
import type { OpenResource } from '@keepsake/core';
import { malformed } from './malformed.js';

/**
 * Random reads into a file or a re-openable resource. Metadata parsers read small ranges only:
 * metadata often sits at the end of a file (moov after mdat, Exif in a trailing mdat), so nothing
 * here ever reads a whole file.
 */
export interface RandomAccess {
  readonly size: number;
  /** Reads up to `length` bytes at `offset`; shorter only at the end of the data. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

/** Largest single read a parser may ask for; anything bigger signals a corrupt length field. */
export const MAX_METADATA_READ = 64 * 1024 * 1024;

const BLOCK = 64 * 1024;
const CACHE_BLOCKS = 16;

/** Wraps a block reader with a small LRU cache of 64 KiB blocks (parsers hop around a lot). */
function cached(size: number, readBlock: (offset: number, length: number) => Promise<Uint8Array>): RandomAccess['read'] {
  const cache = new Map<number, Promise<Uint8Array>>();
  const block = (index: number): Promise<Uint8Array> => {
    let hit = cache.get(index);
    if (hit) {
      cache.delete(index);
      cache.set(index, hit);
      return hit;
    }
    const start = index * BLOCK;
    hit = readBlock(start, Math.min(BLOCK, size - start));
    hit.catch(() => cache.delete(index));
    cache.set(index, hit);
    if (cache.size > CACHE_BLOCKS) cache.delete(cache.keys().next().value as number);
    return hit;
  };
  return async (offset, length) => {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0) throw malformed(`Invalid read of ${length} bytes`, offset);
    if (length > MAX_METADATA_READ) throw malformed(`Refusing a ${length}-byte metadata read`, offset);
    const end = Math.min(size, offset + length);
    if (end <= offset) return new Uint8Array(0);
    // Large reads bypass the cache so it stays small.
    if (end - offset > BLOCK * 2) return readBlock(offset, end - offset);
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((end - 1) / BLOCK);
    if (first === last) {
      const b = await block(first);
      return b.subarray(offset - first * BLOCK, end - first * BLOCK);
    }
    const out = new Uint8Array(end - offset);
    for (let i = first; i <= last; i++) {
      const b = await block(i);
      const bStart = i * BLOCK;
      const from = Math.max(offset, bStart);
      const to = Math.min(end, bStart + b.byteLength);
      out.set(b.subarray(from - bStart, to - bStart), from - offset);
    }
    return out;
  };
}

/** Random access to a local file. Call `close()` when done. */
export async function randomAccessFromFile(path: string): Promise<RandomAccess> {
  const fh = await open(path, 'r');
  const { size } = await fh.stat();
  const readBlock = async (offset: number, length: number) => {
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === length ? buf : buf.subarray(0, got);
  };
  return { size, read: cached(size, readBlock), close: () => fh.close() };
}

/** Reads `path`'s metadata with `fn`, closing the file afterwards. */
export async function withFile<T>(path: string, fn: (ra: RandomAccess) => Promise<T>): Promise<T> {
  const ra = await randomAccessFromFile(path);
  try {
    return await fn(ra);
  } finally {
    await ra.close?.();
  }
}

/**
 * Random access over a re-openable resource (`Resource.open` with offsets): each read opens a
 * stream at the offset and stops after `length` bytes, so a device or backup is never read whole.
 */
export function randomAccessFromOpen(openResource: OpenResource, size: number, signal?: AbortSignal): RandomAccess {
  const readBlock = async (offset: number, length: number) => {
    const out = new Uint8Array(length);
    let got = 0;
    const stream = openResource(signal ? { offset, signal } : { offset });
    const it = stream[Symbol.asyncIterator]();
    try {
      while (got < length) {
        const next = await it.next();
        if (next.done) break;
        const chunk = next.value;
        const take = Math.min(chunk.byteLength, length - got);
        out.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), got);
        got += take;
      }
    } finally {
      await it.return?.();
    }
    return got === length ? out : out.subarray(0, got);
  };
  return { size, read: cached(size, readBlock) };
}

/** Random access over bytes already in memory (tests, small embedded blobs). */
export function randomAccessFromBytes(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(Math.min(offset, bytes.byteLength), Math.min(bytes.byteLength, offset + length)),
  };
}
