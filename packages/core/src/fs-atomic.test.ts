import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
});
