import { describe, expect, it } from 'vitest';
import { decodePlist, decodePlistDict, encodePlist, PlistReal } from './plist.js';
import { decodeBinaryPlist, encodeBinaryPlist } from './plist-binary.js';

const enc = (s: string) => new TextEncoder().encode(s);
const wrap = (inner: string) => enc(`<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">${inner}</plist>`);

describe('XML plist', () => {
  it('round-trips every type', () => {
    const value = {
      s: 'a <b> & "c"',
      n: 42,
      neg: -7,
      big: 2n ** 62n,
      r: 1.5,
      t: true,
      f: false,
      d: new Uint8Array([0, 1, 2, 255]),
      date: new Date('2024-05-01T10:20:30Z'),
      arr: [1, 'two', [], {}],
      nested: { x: { y: 'z' } },
    };
    expect(decodePlist(encodePlist(value))).toEqual(value);
  });

  it('writes PlistReal as <real>', () => {
    expect(new TextDecoder().decode(encodePlist(new PlistReal(2)))).toContain('<real>2.0</real>');
  });

  it('reads what libplist writes, including entities and empty elements', () => {
    const d = decodePlistDict(
      wrap('<dict><key>A&amp;B</key><string>&lt;x&gt;&#65;&#x42;</string><key>E</key><string/><key>D</key><data>\n  AAEC\n</data><key>Z</key><dict/></dict>'),
    );
    expect(d).toEqual({ 'A&B': '<x>AB', E: '', D: new Uint8Array([0, 1, 2]), Z: {} });
  });

  it.each([
    ['unterminated dict', '<dict><key>a</key><string>b</string>'],
    ['unknown element', '<dict><key>a</key><foo>1</foo></dict>'],
    ['bad integer', '<integer>12x</integer>'],
    ['integer out of 64-bit range', '<integer>999999999999999999999999</integer>'],
    ['value without key', '<dict><string>a</string></dict>'],
    ['bad base64', '<data>@@@@</data>'],
    ['bad date', '<date>yesterday</date>'],
    ['unknown entity', '<string>&bogus;</string>'],
    ['element inside string', '<string>a<b/>c</string>'],
    ['mismatched close', '<array><string>a</string></dict>'],
  ])('rejects %s with DEVICE_PROTOCOL_ERROR', (_name, inner) => {
    expect(() => decodePlist(wrap(inner))).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
  });

  it('rejects trailing content, non-UTF-8 and non-plist input', () => {
    expect(() => decodePlist(enc('<plist><true/></plist><x/>'))).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
    expect(() => decodePlist(new Uint8Array([0x3c, 0xff, 0xfe]))).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
    expect(() => decodePlist(enc('hello'))).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
    expect(() => decodePlist(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
  });

  it('caps nesting depth instead of overflowing the stack', () => {
    const deep = `${'<array>'.repeat(5000)}${'</array>'.repeat(5000)}`;
    expect(() => decodePlist(wrap(deep))).toThrow(/nesting too deep/);
  });

  it('does not treat a root dict key "__proto__" as a prototype', () => {
    const d = decodePlistDict(wrap('<dict><key>__proto__</key><string>x</string></dict>'));
    expect(Object.keys(d)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('binary plist', () => {
  it('round-trips through the encoder and the XML-or-binary entry point', () => {
    const value = { HostID: 'ABC', n: 300, big: 70000, huge: 2 ** 40, neg: -1, r: 0.25, ok: true, data: new Uint8Array(20).fill(7), list: ['é', 'x'.repeat(20)] };
    const bytes = encodeBinaryPlist(value);
    expect(Buffer.from(bytes.subarray(0, 8)).toString()).toBe('bplist00');
    expect(decodePlist(bytes)).toEqual(value);
  });

  it('decodes dates relative to 2001-01-01', () => {
    const d = new Date('2020-01-01T00:00:00Z');
    expect(decodeBinaryPlist(encodeBinaryPlist({ d }))).toEqual({ d });
  });

  it('rejects truncated input, bad trailers and out-of-range offsets', () => {
    const good = Buffer.from(encodeBinaryPlist({ a: 'b' }));
    expect(() => decodeBinaryPlist(good.subarray(0, 20))).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
    const badSizes = Buffer.from(good);
    badSizes[badSizes.length - 26] = 3; // offset int size 3 is invalid
    expect(() => decodeBinaryPlist(badSizes)).toThrow(/trailer sizes/);
    const badTable = Buffer.from(good);
    badTable.writeBigUInt64BE(BigInt(badTable.length * 10), badTable.length - 8);
    expect(() => decodeBinaryPlist(badTable)).toThrow(/out of bounds/);
  });

  it('rejects a length that runs past the data without allocating it', () => {
    const good = Buffer.from(encodeBinaryPlist(new Uint8Array(4)));
    // object 0 is at offset 8: marker 0x44 (data, 4 bytes) → claim 0x4f + int 2^32-1
    const evil = Buffer.concat([good.subarray(0, 8), Buffer.from([0x4f, 0x12, 0xff, 0xff, 0xff, 0xff]), good.subarray(13)]);
    expect(() => decodeBinaryPlist(evil)).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
  });

  it('rejects reference cycles', () => {
    // One array object (ref 0) that contains itself.
    const header = Buffer.from('bplist00');
    const obj = Buffer.from([0xa1, 0x00]);
    const table = Buffer.from([8]);
    const trailer = Buffer.alloc(32);
    trailer[6] = 1;
    trailer[7] = 1;
    trailer.writeBigUInt64BE(1n, 8);
    trailer.writeBigUInt64BE(0n, 16);
    trailer.writeBigUInt64BE(10n, 24);
    expect(() => decodeBinaryPlist(Buffer.concat([header, obj, table, trailer]))).toThrow(/cycle/);
  });
});
