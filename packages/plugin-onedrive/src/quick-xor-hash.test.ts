import { createHasher } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { QuickXorHash, quickXorHash } from './quick-xor-hash.js';
import { registerQuickXorHash } from './register-hash.js';

// Published vectors: rclone backend/onedrive/quickxorhash/quickxorhash_test.go (input base64 → hash).
const VECTORS: [number, string, string][] = [
  [0, '', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='],
  [1, 'Sg==', 'SgAAAAAAAAAAAAAAAQAAAAAAAAA='],
  [2, 'tbQ=', 'taAFAAAAAAAAAAAAAgAAAAAAAAA='],
  [3, '0pZP', '0rDEEwAAAAAAAAAAAwAAAAAAAAA='],
  [8, '/aNzzCFPS/A=', '/RjFHJgRgicsAR4ACAAAAAAAAAA='],
  [13, 'vPgoDjOfO6fm71RxLw==', 'vMAHChwwg0/s4BTmdQcV4vACAAA='],
  [16, '2fuxhBJXtpWFe8dOfdGeHw==', 'O9tHLAghgSvYohKFyMMxnNCHaHg='],
  [20, 'T6LYJIfDh81JrAK309H2JMJTXis=', 'zBTHrspn3mEcohlJdIUAbjGNaNg='],
  [32, 'NbYXsp5/K6mR+NmHwExjvWeWDJFnXTKWVlzYHoesp2E=', 'wjuAuWDiq04qDt1R8hHWDDcwVoQ='],
  [
    111,
    'jyibxJSzO6ZiZ0O1qe3tG/bvIAYssvukh9suIT5wEy1JBINVgPiqdsTW0cOpP0aUfP7mgqLfADkzI/m/GgCuVhr8oFLrOCoTx1/psBOWwhltCbhUx51Icm9aH8tY4Z3ccU+6BKpYQkLCy0B/A9Zc',
    'hZfLIilSITC6N3e3tQ/iSgEzkto=',
  ],
  [
    222,
    'PfxMcUd0vIW6VbHG/uj/Y0W6qEoKmyBD0nYebEKazKaKG+UaDqBEcmQjbfQeVnVLuodMoPp7P7TR1htX5n2VnkHh22xDyoJ8C/ZQKiSNqQfXvh83judf4RVr9exJCud8Uvgip6aVZTaPrJHVjQhMCp/dEnGvqg0oN5OVkM2qqAXvA0teKUDhgNM71sDBVBCGXxNOR2bpbD1iM4dnuT0ey4L+loXEHTL0fqMeUcEi2asgImnlNakwenDzz0x57aBwyq3AspCFGB1ncX4yYCr/OaCcS5OKi/00WH+wNQU3',
    'QX/YEpG0gDsmhEpCdWhsxDzsfVE=',
  ],
  [
    333,
    'w0LGhqU1WXFbdavqDE4kAjEzWLGGzmTNikzqnsiXHx2KRReKVTxkv27u3UcEz9+lbMvYl4xFf2Z4aE1xRBBNd1Ke5C0zToSaYw5o4B/7X99nKK2/XaUX1byLow2aju2XJl2OpKpJg+tSJ2fmjIJTkfuYUz574dFX6/VXxSxwGH/xQEAKS5TCsBK3CwnuG1p5SAsQq3gGVozDWyjEBcWDMdy8/AIFrj/y03Lfc/RNRCQTAfZbnf2QwV7sluw4fH3XJr07UoD0YqN+7XZzidtrwqMY26fpLZnyZjnBEt1FAZWO7RnKG5asg8xRk9YaDdedXdQSJAOy6bWEWlABj+tVAigBxavaluUH8LOj+yfCFldJjNLdi90fVHkUD/m4Mr5OtmupNMXPwuG3EQlqWUVpQoYpUYKLsk7a5Mvg6UFkiH596y5IbJEVCI1Kb3D1',
    'e3+wo77iKcILiZegnzyUNcjCdoQ=',
  ],
];

/** Straightforward bit-by-bit reference: byte k XORed at bit (k·11) mod 160, length in the last 8 bytes. */
function reference(bytes: Uint8Array): string {
  const bits = new Uint8Array(160);
  bytes.forEach((b, k) => {
    for (let i = 0; i < 8; i++) if ((b >> i) & 1) bits[(k * 11 + i) % 160]! ^= 1;
  });
  const out = new Uint8Array(20);
  for (let p = 0; p < 160; p++) if (bits[p]) out[p >> 3]! |= 1 << (p & 7);
  const len = new DataView(new ArrayBuffer(8));
  len.setBigUint64(0, BigInt(bytes.length), true);
  for (let i = 0; i < 8; i++) out[12 + i]! ^= len.getUint8(i);
  return Buffer.from(out).toString('base64');
}

describe('QuickXorHash', () => {
  it.each(VECTORS)('matches the published vector for %i bytes', (size, input, expected) => {
    const bytes = Buffer.from(input, 'base64');
    expect(bytes.length).toBe(size);
    expect(quickXorHash(bytes)).toBe(expected);
  });

  it('gives the same digest whatever the chunking', () => {
    for (const [, input, expected] of VECTORS) {
      const bytes = Buffer.from(input, 'base64');
      for (const block of [1, 2, 7, 64, 159, 160, 161, 500]) {
        const h = new QuickXorHash();
        for (let i = 0; i < bytes.length; i += block) h.update(bytes.subarray(i, i + block));
        expect(h.digest()).toBe(expected);
      }
    }
  });

  it('agrees with a bit-by-bit reference on larger random input split at odd boundaries', () => {
    const bytes = new Uint8Array(50_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const h = new QuickXorHash();
    let at = 0;
    for (const step of [1, 333, 4096, 17, 160, 10_000]) {
      h.update(bytes.subarray(at, at + step));
      at += step;
    }
    h.update(bytes.subarray(at));
    expect(h.digest()).toBe(reference(bytes));
  });

  it('is registered with core as "quickXorHash"', () => {
    registerQuickXorHash();
    const h = createHasher('quickXorHash');
    h.update(Buffer.from('Sg==', 'base64'));
    expect(h.digest()).toBe('SgAAAAAAAAAAAAAAAQAAAAAAAAA=');
  });
});
