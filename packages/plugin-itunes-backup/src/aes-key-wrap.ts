import { createCipheriv, createDecipheriv } from 'node:crypto';

/** RFC 3394 default initial value. */
const IV = 0xa6a6a6a6a6a6a6a6n;

function ecb(key: Uint8Array, decrypt: boolean) {
  const algo = `aes-${key.byteLength * 8}-ecb`;
  if (![16, 24, 32].includes(key.byteLength)) throw new RangeError(`AES key must be 16, 24 or 32 bytes (got ${key.byteLength})`);
  const c = decrypt ? createDecipheriv(algo, key, null) : createCipheriv(algo, key, null);
  c.setAutoPadding(false);
  return c;
}

/**
 * RFC 3394 AES key unwrap (section 2.2.2, index-based form). Returns the key, or `undefined` when
 * the integrity check fails — for backups that means the wrapping key (the password) is wrong.
 */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array | undefined {
  if (wrapped.byteLength % 8 !== 0 || wrapped.byteLength < 24) throw new RangeError(`wrapped key must be a multiple of 8 bytes, at least 24 (got ${wrapped.byteLength})`);
  const n = wrapped.byteLength / 8 - 1;
  const w = Buffer.from(wrapped);
  let a = w.readBigUInt64BE(0);
  const r = Buffer.from(w.subarray(8));
  const aes = ecb(kek, true);
  const block = Buffer.alloc(16);
  for (let j = 5; j >= 0; j--) {
    for (let i = n; i >= 1; i--) {
      block.writeBigUInt64BE(a ^ BigInt(n * j + i), 0);
      r.copy(block, 8, (i - 1) * 8, i * 8);
      const b = aes.update(block);
      a = b.readBigUInt64BE(0);
      b.copy(r, (i - 1) * 8, 8, 16);
    }
  }
  aes.final();
  return a === IV ? new Uint8Array(r) : undefined;
}

/** RFC 3394 AES key wrap (section 2.2.1); the inverse of {@link aesKeyUnwrap}. */
export function aesKeyWrap(kek: Uint8Array, key: Uint8Array): Uint8Array {
  if (key.byteLength % 8 !== 0 || key.byteLength < 16) throw new RangeError(`key to wrap must be a multiple of 8 bytes, at least 16 (got ${key.byteLength})`);
  const n = key.byteLength / 8;
  let a = IV;
  const r = Buffer.from(key);
  const aes = ecb(kek, false);
  const block = Buffer.alloc(16);
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      block.writeBigUInt64BE(a, 0);
      r.copy(block, 8, (i - 1) * 8, i * 8);
      const b = aes.update(block);
      a = b.readBigUInt64BE(0) ^ BigInt(n * j + i);
      b.copy(r, (i - 1) * 8, 8, 16);
    }
  }
  aes.final();
  const out = Buffer.alloc(8 + r.byteLength);
  out.writeBigUInt64BE(a, 0);
  r.copy(out, 8);
  return new Uint8Array(out);
}
