import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesKeyUnwrap, aesKeyWrap } from './aes-key-wrap.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const KEK = '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F';

// RFC 3394 section 4 test vectors.
const vectors = [
  { name: '4.1 128-bit KEK, 128-bit key', kek: KEK.slice(0, 32), key: '00112233445566778899AABBCCDDEEFF', wrapped: '1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5' },
  { name: '4.2 192-bit KEK, 128-bit key', kek: KEK.slice(0, 48), key: '00112233445566778899AABBCCDDEEFF', wrapped: '96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D' },
  { name: '4.3 256-bit KEK, 128-bit key', kek: KEK, key: '00112233445566778899AABBCCDDEEFF', wrapped: '64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7' },
  { name: '4.4 192-bit KEK, 192-bit key', kek: KEK.slice(0, 48), key: '00112233445566778899AABBCCDDEEFF0001020304050607', wrapped: '031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2' },
  { name: '4.5 256-bit KEK, 192-bit key', kek: KEK, key: '00112233445566778899AABBCCDDEEFF0001020304050607', wrapped: 'A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1' },
  {
    name: '4.6 256-bit KEK, 256-bit key',
    kek: KEK,
    key: '00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F',
    wrapped: '28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21',
  },
];

describe('RFC 3394 AES key wrap', () => {
  for (const v of vectors) {
    it(`unwraps and wraps ${v.name}`, () => {
      expect(Buffer.from(aesKeyUnwrap(hex(v.kek), hex(v.wrapped)) as Uint8Array).toString('hex')).toBe(v.key.toLowerCase());
      expect(Buffer.from(aesKeyWrap(hex(v.kek), hex(v.key))).toString('hex')).toBe(v.wrapped.replace(/\s/g, '').toLowerCase());
    });
  }

  it('returns undefined when the integrity check fails (wrong KEK or damaged data)', () => {
    const v = vectors[5] as (typeof vectors)[number];
    const wrongKek = hex(v.kek);
    wrongKek[0] = (wrongKek[0] as number) ^ 1;
    expect(aesKeyUnwrap(wrongKek, hex(v.wrapped))).toBeUndefined();
    const damaged = hex(v.wrapped);
    damaged[39] = (damaged[39] as number) ^ 0x80;
    expect(aesKeyUnwrap(hex(v.kek), damaged)).toBeUndefined();
  });

  it("agrees with OpenSSL's id-aes256-wrap on random keys", () => {
    for (let i = 0; i < 20; i++) {
      const kek = randomBytes(32);
      const key = randomBytes(32);
      const c = createCipheriv('id-aes256-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
      const wrapped = Buffer.concat([c.update(key), c.final()]);
      expect(Buffer.from(aesKeyWrap(kek, key)).equals(wrapped)).toBe(true);
      expect(Buffer.from(aesKeyUnwrap(kek, wrapped) as Uint8Array).equals(key)).toBe(true);
    }
  });

  it('rejects inputs of impossible length', () => {
    expect(() => aesKeyUnwrap(new Uint8Array(32), new Uint8Array(20))).toThrow(RangeError);
    expect(() => aesKeyUnwrap(new Uint8Array(31), new Uint8Array(40))).toThrow(RangeError);
  });
});
