import { crc32 } from 'node:zlib';
import { createHasher, type Hasher, registerHash } from '@keepsake/core';

/** Name of the read-back checksum (zlib CRC-32, hardware-accelerated; ~5–10× cheaper than sha256). */
export const READ_BACK_HASH = 'crc32';

function crc32Hasher(): Hasher {
  let value = 0;
  return {
    update: (chunk) => {
      value = crc32(chunk, value);
    },
    digest: () => (value >>> 0).toString(16).padStart(8, '0'),
  };
}

/** Registers `crc32` with core's hash registry once (core's `hashFile` and `writeStreamAtomic` then know it). */
export function ensureReadBackHash(): void {
  try {
    createHasher(READ_BACK_HASH);
  } catch {
    registerHash(READ_BACK_HASH, crc32Hasher);
  }
}
