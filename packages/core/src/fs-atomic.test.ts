import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashFile, readFileStream, writeStreamAtomic } from './fs-atomic.js';
import { sha256Of } from './hash.js';

async function* chunks(n: number, size: number, onChunk?: (i: number) => void) {
  for (let i = 0; i < n; i++) {
    onChunk?.(i);
    yield new Uint8Array(size).fill(i & 255);
  }
}

describe('writeStreamAtomic', () => {
  it('writes, hashes in-stream and sets mtime', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const dest = join(dir, 'a.bin');
    const r = await writeStreamAtomic(dest, chunks(4, 1000), { mtimeMs: 1_600_000_000_000 });
    expect(r.bytes).toBe(4000);
    expect(r.hashes.sha256).toBe((await hashFile(dest)).hashes.sha256);
    expect(statSync(dest).mtimeMs).toBe(1_600_000_000_000);
    expect(readdirSync(dir)).toEqual(['a.bin']);
  });
  it('never replaces an existing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const dest = join(dir, 'a.bin');
    writeFileSync(dest, 'keep me');
    await expect(writeStreamAtomic(dest, chunks(1, 10))).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(dest, 'utf8')).toBe('keep me');
    expect(readdirSync(dir)).toEqual(['a.bin']);
  });
  it('leaves nothing visible when the source fails or the signal aborts mid-write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const boom = chunks(5, 100, (i) => {
      if (i === 3) throw new Error('cable unplugged');
    });
    await expect(writeStreamAtomic(join(dir, 'x'), boom)).rejects.toThrow('cable unplugged');
    const ac = new AbortController();
    const aborting = chunks(5, 100, (i) => i === 2 && ac.abort());
    await expect(writeStreamAtomic(join(dir, 'y'), aborting, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(readdirSync(dir)).toEqual([]);
  });
  it('readFileStream resumes from an offset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const p = join(dir, 'f');
    writeFileSync(p, Buffer.from('0123456789'));
    const all: number[] = [];
    for await (const c of readFileStream(p, { offset: 4, chunkSize: 3 })) all.push(...c);
    expect(Buffer.from(all).toString()).toBe('456789');
    expect((await sha256Of(readFileStream(p))).bytes).toBe(10);
  });
  it('readFileStream resumes from an offset with reused buffers too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const p = join(dir, 'f');
    writeFileSync(p, Buffer.from('0123456789'));
    const all: number[] = [];
    for await (const c of readFileStream(p, { offset: 4, chunkSize: 3, reuseChunks: true })) all.push(...c);
    expect(Buffer.from(all).toString()).toBe('456789');
  });
});

describe('readFileStream with reuseChunks', () => {
  it('yields every byte in order, reading into two buffers in turn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const p = join(dir, 'f');
    const data = randomBytes(10_007);
    writeFileSync(p, data);
    const copies: Buffer[] = [];
    const backing = new Set<ArrayBufferLike>();
    for await (const c of readFileStream(p, { chunkSize: 1000, reuseChunks: true })) {
      copies.push(Buffer.from(c)); // the consumer copies what it wants to keep
      backing.add(c.buffer);
    }
    expect(Buffer.concat(copies).equals(data)).toBe(true);
    expect(copies.map((c) => c.byteLength)).toEqual([...Array(10).fill(1000), 7]);
    expect(backing.size).toBeLessThanOrEqual(2);
  });

  it('the next chunk reuses the memory of an earlier one (the contract: do not keep chunks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const p = join(dir, 'f');
    writeFileSync(p, Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(100, 2), Buffer.alloc(100, 3)]));
    const kept: Uint8Array[] = [];
    for await (const c of readFileStream(p, { chunkSize: 100, reuseChunks: true })) kept.push(c);
    expect(kept[0]![0]).toBe(3); // chunk 1's buffer was refilled with chunk 3
    expect(kept[1]![0]).toBe(2);
  });

  it('handles a file shorter than the read-ahead, an empty file and an early stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    writeFileSync(join(dir, 'small'), 'abc');
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'big'), randomBytes(5000));
    const read = async (name: string, stopAfter = Infinity) => {
      let n = 0;
      let chunks = 0;
      for await (const c of readFileStream(join(dir, name), { chunkSize: 1000, reuseChunks: true })) {
        n += c.byteLength;
        if (++chunks >= stopAfter) break;
      }
      return n;
    };
    expect(await read('small')).toBe(3);
    expect(await read('empty')).toBe(0);
    expect(await read('big', 2)).toBe(2000);
    expect(await read('big')).toBe(5000);
    await expect(read('missing')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('feeds writeStreamAtomic, which never keeps a chunk: the copy is exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const data = randomBytes(3 * (1 << 20) + 12_345);
    writeFileSync(join(dir, 'src'), data);
    const r = await writeStreamAtomic(join(dir, 'dst'), readFileStream(join(dir, 'src'), { reuseChunks: true }));
    expect(r.bytes).toBe(data.byteLength);
    expect(readFileSync(join(dir, 'dst')).equals(data)).toBe(true);
    expect(r.hashes.sha256).toBe((await hashFile(join(dir, 'src'))).hashes.sha256);
  });
});

describe('writeStreamAtomic verify', () => {
  it('checks the file under its final name and resolves after the check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const dest = join(dir, 'a.bin');
    const seen: string[] = [];
    const r = await writeStreamAtomic(dest, chunks(3, 500), {
      verify: async (path, written) => {
        const back = await hashFile(path);
        seen.push(path, back.hashes.sha256!, written.hashes.sha256, String(back.bytes), String(written.bytes));
      },
    });
    expect(seen[0]).toBe(dest);
    expect(seen[1]).toBe(seen[2]);
    expect(seen[1]).toBe(r.hashes.sha256);
    expect(seen[3]).toBe('1500');
    expect(seen[4]).toBe('1500');
  });

  it('a failed check removes the file again and rethrows; nothing else stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const dest = join(dir, 'a.bin');
    await expect(
      writeStreamAtomic(dest, chunks(2, 100), {
        verify: async (path) => {
          expect(existsSync(path)).toBe(true);
          throw new Error('read-back mismatch');
        },
      }),
    ).rejects.toThrow('read-back mismatch');
    expect(readdirSync(dir)).toEqual([]);
  });
});

