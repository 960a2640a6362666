import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openContentRandomAccess } from './content-random-access.js';
import { openContent, paddedPlaintextLength } from './content-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'keepsake-content-'));
const readAll = async (it: AsyncIterable<Uint8Array>) => {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
};

function encrypted(plain: Buffer, key: Buffer, name: string): string {
  const c = createCipheriv('aes-256-cbc', key, Buffer.alloc(16));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([c.update(plain), c.final()]));
  return path;
}

describe('backup content streams', () => {
  const key = randomBytes(32);
  const plain = randomBytes(3 * 1024 * 1024 + 5);
  const path = encrypted(plain, key, 'big');

  it('decrypts across 1 MiB chunk boundaries and trims padding, for every size modulo 16', async () => {
    expect((await readAll(openContent({ path, size: plain.byteLength, key, label: 'big' }))).equals(plain)).toBe(true);
    for (let n = 0; n <= 33; n++) {
      const p = plain.subarray(0, n);
      const f = encrypted(p, key, `small-${n}`);
      expect((await readAll(openContent({ path: f, size: n, key, label: 's' }))).equals(p), `size ${n}`).toBe(true);
    }
  });

  it('serves random ranges for metadata readers', async () => {
    const ra = await openContentRandomAccess(path, plain.byteLength, key);
    for (const [off, len] of [
      [0, 10],
      [15, 2],
      [16, 16],
      [1_048_570, 20],
      [plain.byteLength - 3, 100],
    ] as const) {
      expect(Buffer.from(await ra.read(off, len)).equals(plain.subarray(off, off + len)), `${off}+${len}`).toBe(true);
    }
    expect((await ra.read(plain.byteLength, 10)).byteLength).toBe(0);
    await ra.close?.();
  });

  it('fails (never a short success) when the file is shorter than the recorded size', async () => {
    const plainPath = join(dir, 'plain-short');
    writeFileSync(plainPath, plain.subarray(0, 1000));
    await expect(readAll(openContent({ path: plainPath, size: 2000, label: 'p' }))).rejects.toMatchObject({ code: 'BACKUP_FILE_CORRUPT' });
    await expect(readAll(openContent({ path, size: plain.byteLength + 100, key, label: 'e' }))).rejects.toMatchObject({ code: 'BACKUP_FILE_CORRUPT' });
    await expect(readAll(openContent({ path: join(dir, 'nope'), size: 5, key, label: 'n' }))).rejects.toMatchObject({ code: 'BACKUP_FILE_MISSING' });
  });

  it('reads the plaintext length from the PKCS#7 padding, and refuses padding that does not check out', async () => {
    for (let n = 0; n <= 33; n++) {
      const f = encrypted(plain.subarray(0, n), key, `pad-${n}`);
      expect(await paddedPlaintextLength(f, 16 * Math.floor(n / 16) + 16, key), `size ${n}`).toBe(n);
    }
    expect(await paddedPlaintextLength(path, 3 * 1024 * 1024 + 16, key)).toBe(plain.byteLength);
    // A ciphertext cut at a block edge ends in a block whose "padding" is ciphertext-random; a
    // wrong key gives random bytes too. Both are refused (up to the 1-in-256 chance of a valid pad).
    const damaged = join(dir, 'pad-damaged');
    const whole = encrypted(plain.subarray(0, 100), key, 'pad-whole');
    const bytes = readFileSync(whole);
    bytes[bytes.byteLength - 17] = (bytes[bytes.byteLength - 17] as number) ^ 0x40; // flips bit 6 of the last pad byte
    writeFileSync(damaged, bytes);
    expect(await paddedPlaintextLength(damaged, bytes.byteLength, key)).toBeUndefined();
    expect(await paddedPlaintextLength(whole, 100, key)).toBeUndefined();
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const it = openContent({ path, size: plain.byteLength, key, label: 'a', signal: ac.signal });
    const iter = it[Symbol.asyncIterator]();
    await iter.next();
    ac.abort();
    await expect(readAll({ [Symbol.asyncIterator]: () => iter })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
