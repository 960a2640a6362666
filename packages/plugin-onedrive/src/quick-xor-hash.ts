import type { Hasher } from '@keepsake/core';

const WIDTH_BITS = 160;
const WIDTH_BYTES = 20;
const SHIFT = 11;
/** Bytes folded at a time (a multiple of 160 that fits in L1/L2 cache). */
const BLOCK = 160 * 200;

/**
 * Microsoft's QuickXorHash (OneDrive `file.hashes.quickXorHash`): a 160-bit circular XOR where
 * input byte k lands at bit (k·11) mod 160, and the total length (64-bit little-endian) is XORed
 * into the last 8 bytes. The digest is the base64 of the 20 state bytes.
 *
 * Bytes whose positions differ by 160 land on the same bit (160·11 ≡ 0 mod 160), so each chunk is
 * folded into at most 160 XOR accumulators first; the state is touched 160 times per chunk, not
 * once per byte.
 */
export class QuickXorHash implements Hasher {
  /** 160-bit state, little-endian bit order: bit p is bit (p mod 8) of byte ⌊p/8⌋. */
  readonly #state = new Uint8Array(WIDTH_BYTES);
  #length = 0n;
  /** Bit position of the next byte: (length·11) mod 160. */
  #shift = 0;

  update(chunk: Uint8Array): void {
    // Fold in cache-sized blocks: the lane loop strides over the block 160 times.
    for (let at = 0; at < chunk.byteLength; at += BLOCK) this.#fold(chunk.subarray(at, Math.min(chunk.byteLength, at + BLOCK)));
  }

  #fold(chunk: Uint8Array): void {
    const n = chunk.byteLength;
    const lanes = Math.min(n, WIDTH_BITS);
    for (let i = 0; i < lanes; i++) {
      let x = 0;
      for (let j = i; j < n; j += WIDTH_BITS) x ^= chunk[j]!;
      if (x === 0) continue;
      const bit = (this.#shift + i * SHIFT) % WIDTH_BITS;
      const byte = bit >> 3;
      const off = bit & 7;
      this.#state[byte]! ^= (x << off) & 0xff;
      if (off) this.#state[(byte + 1) % WIDTH_BYTES]! ^= x >> (8 - off);
    }
    this.#shift = (this.#shift + SHIFT * (n % WIDTH_BITS)) % WIDTH_BITS;
    this.#length += BigInt(n);
  }

  /** The 20-byte digest (the state is not changed; more bytes may follow). */
  digestBytes(): Uint8Array {
    const out = this.#state.slice();
    let len = this.#length;
    for (let i = 0; i < 8; i++) {
      out[WIDTH_BYTES - 8 + i]! ^= Number(len & 0xffn);
      len >>= 8n;
    }
    return out;
  }

  /** Base64, as Graph reports it. */
  digest(): string {
    return Buffer.from(this.digestBytes()).toString('base64');
  }
}

export function quickXorHash(bytes: Uint8Array): string {
  const h = new QuickXorHash();
  h.update(bytes);
  return h.digest();
}
