import { createDecipheriv } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { RandomAccess } from '@keepsake/media';

const BLOCK = 16;

/**
 * Ranged reads of a backup content file's plaintext for metadata parsers, without decrypting
 * from the start: in CBC, block i decrypts with ciphertext block i-1 as its IV. Reads past the
 * recorded size are cut there (the padding is never visible).
 */
export async function openContentRandomAccess(path: string, size: number, key: Uint8Array | undefined): Promise<RandomAccess> {
  const fh = await open(path, 'r');
  const readAt = async (position: number, length: number): Promise<Buffer> => {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  };
  return {
    size,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      if (offset < 0 || end <= offset) return new Uint8Array(0);
      if (!key) return new Uint8Array(await readAt(offset, end - offset));
      const first = Math.floor(offset / BLOCK);
      const last = Math.ceil(end / BLOCK);
      const iv = first === 0 ? Buffer.alloc(BLOCK) : await readAt((first - 1) * BLOCK, BLOCK);
      const cipher = await readAt(first * BLOCK, (last - first) * BLOCK);
      const whole = cipher.byteLength - (cipher.byteLength % BLOCK);
      if (iv.byteLength !== BLOCK || whole === 0) return new Uint8Array(0);
      const d = createDecipheriv('aes-256-cbc', key, iv);
      d.setAutoPadding(false);
      const plain = d.update(cipher.subarray(0, whole));
      const from = offset - first * BLOCK;
      return new Uint8Array(plain.subarray(from, Math.min(plain.byteLength, from + (end - offset))));
    },
    close: () => fh.close(),
  };
}
