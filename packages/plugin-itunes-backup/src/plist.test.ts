import { describe, expect, it } from 'vitest';
import { Real, Uid, writeBinaryPlist, writeXmlPlist } from '../test/plist-writer.ts';
import { BplistFormatError, parseBinaryPlist } from './bplist.js';
import { decodeMBFile } from './mbfile.js';
import { parsePlist } from './plist.js';
import { isPlistDict, PlistUid } from './plist-value.js';
import { parseXmlPlist, XmlPlistFormatError } from './xml-plist.js';

/** Written by CPython's plistlib (an independent writer): an MBFile-shaped NSKeyedArchiver archive. */
const PYTHON_ARCHIVE = Buffer.from(
  'YnBsaXN0MDDUAQIDBAUGOTxZJGFyY2hpdmVyWCRvYmplY3RzVCR0b3BYJHZlcnNpb25fEA9OU0tleWVkQXJjaGl2ZXKmBwgqKy81VSRudWxs3xARCQoLDA0ODxAREhMUFRYXGBkaGxwdHh8cICEiIyQlJicoKVYkY2xhc3NTQmlnVUJpcnRoVUVtcHR5XUVuY3J5cHRpb25LZXlURmxhZ1xMYXN0TW9kaWZpZWRUTG9uZ1RNb2RlU05lZ1ZOb0ZsYWdSUGlfEA9Qcm90ZWN0aW9uQ2xhc3NcUmVsYXRpdmVQYXRoVFNpemVTVW5pVFdoZW6ABBMAAAEAAAAAABJgcYFwQIADCV8QKHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHgRgaQT//////////sII0AKAAAAAAAAEAOAAhIANRQCZgBaAG8A6wAg2D3c9zNBwxDceAAAAF8QIE1lZGlhL0RDSU0vMTAwQVBQTEUvSU1HXzAwMDEuSlBH0gksLS5XTlMuZGF0YYAFTxAsAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKivSMDEyM1gkY2xhc3Nlc1okY2xhc3NuYW1lojM0Vk1CRmlsZVhOU09iamVjdNIwMTY3ozc4NF1OU011dGFibGVEYXRhVk5TRGF0YdE6O1Ryb290gAESAAGGoAAIABEAGwAkACkAMgBEAEsAUQB2AH0AgQCHAI0AmwCgAK0AsgC3ALsAwgDFANcA5ADpAO0A8gD0AP0BAgEDAQUBBgExATQBPQE+AUcBSQFLAVABXQFmAYkBjgGWAZgBxwHMAdUB4AHjAeoB8wH4AfwCCgIRAhQCGQIbAAAAAAAAAgEAAAAAAAAAPQAAAAAAAAAAAAAAAAAAAiA=',
  'base64',
);

describe('binary plist parser', () => {
  it('reads a plist written by CPython plistlib, every type', () => {
    const v = parseBinaryPlist(PYTHON_ARCHIVE);
    if (!isPlistDict(v)) throw new Error('not a dict');
    expect(v.$archiver).toBe('NSKeyedArchiver');
    expect(v.$version).toBe(100000);
    const objects = v.$objects as unknown[];
    const root = objects[1] as Record<string, unknown>;
    expect(root.Size).toBe(3478530);
    expect(root.Neg).toBe(-5);
    expect(root.Big).toBe(2 ** 40);
    expect(root.Pi).toBe(3.25);
    expect((root.When as Date).toISOString()).toBe('2021-04-10T10:44:00.000Z');
    expect(root.Uni).toBe('Zoë 📷');
    expect(root.Long).toBe('x'.repeat(40));
    expect(root.Flag).toBe(true);
    expect(root.NoFlag).toBe(false);
    expect(root.Empty).toEqual(new Uint8Array(0));
    expect(root.RelativePath).toEqual(new PlistUid(2));
  });

  it('decodes the MBFile in that archive', () => {
    const f = decodeMBFile(PYTHON_ARCHIVE);
    expect(f.relativePath).toBe('Media/DCIM/100APPLE/IMG_0001.JPG');
    expect(f.size).toBe(3478530);
    expect(f.mode).toBe(33188);
    expect(f.lastModified).toBe(1618051440);
    expect(f.protectionClass).toBe(3);
    expect(Buffer.from(f.encryptionKey as Uint8Array).equals(Buffer.from(Array.from({ length: 44 }, (_, i) => i)))).toBe(true);
  });

  it('round-trips the test writer, including long arrays and >255 objects', () => {
    const big = Array.from({ length: 300 }, (_, i) => `item ${i}`);
    const value = { a: 1, b: [true, false, null], c: new Real(1.5), d: new Uint8Array(20).fill(7), e: big, u: new Uid(70000), k: 'ü', n: -2 };
    const v = parseBinaryPlist(writeBinaryPlist(value)) as Record<string, unknown>;
    expect(v.a).toBe(1);
    expect(v.b).toEqual([true, false, null]);
    expect(v.c).toBe(1.5);
    expect(v.d).toEqual(new Uint8Array(20).fill(7));
    expect(v.e).toEqual(big);
    expect(v.u).toEqual(new PlistUid(70000));
    expect(v.k).toBe('ü');
    expect(v.n).toBe(-2);
  });

  it('keeps "__proto__" keys as data', () => {
    const v = parseBinaryPlist(writeBinaryPlist(JSON.parse('{"__proto__": "x"}'))) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(null);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toBe('x');
  });

  it('refuses truncated, out-of-range and cyclic input', () => {
    const good = Buffer.from(writeBinaryPlist({ a: [1, 2, 3] }));
    expect(() => parseBinaryPlist(good.subarray(0, good.byteLength - 1))).toThrow(BplistFormatError);
    expect(() => parseBinaryPlist(good.subarray(0, 20))).toThrow(BplistFormatError);
    // Top object index past the object count.
    const badTop = Buffer.from(good);
    badTop.writeBigUInt64BE(99n, badTop.byteLength - 16);
    expect(() => parseBinaryPlist(badTop)).toThrow(/top object/);
    // Offset table pointing past the objects.
    const badTable = Buffer.from(good);
    badTable.writeBigUInt64BE(BigInt(badTable.byteLength), badTable.byteLength - 8);
    expect(() => parseBinaryPlist(badTable)).toThrow(BplistFormatError);
    // An array that contains itself: object 0 = [ref 0].
    const cyclic = Buffer.concat([Buffer.from('bplist00'), Buffer.from([0xa1, 0x00]), Buffer.from([8]), trailer(1, 1, 1, 0, 10)]);
    expect(() => parseBinaryPlist(cyclic)).toThrow(/cycle/);
    // Data claiming more bytes than there are.
    const longData = Buffer.concat([Buffer.from('bplist00'), Buffer.from([0x4f, 0x10, 0xff]), Buffer.from([8]), trailer(1, 1, 1, 0, 11)]);
    expect(() => parseBinaryPlist(longData)).toThrow(/runs past/);
  });

  it('decodes shared references once (no exponential expansion)', () => {
    // 40 levels of [x, x]: tiny file, 2^40 nodes expanded.
    const n = 40;
    const objs: Buffer[] = [Buffer.from([0x10, 0x01])];
    for (let i = 1; i <= n; i++) objs.push(Buffer.from([0xa2, i - 1, i - 1]));
    let pos = 8;
    const offsets = objs.map((o) => {
      const p = pos;
      pos += o.byteLength;
      return p;
    });
    const table = Buffer.from(offsets);
    const file = Buffer.concat([Buffer.from('bplist00'), ...objs, table, trailer(1, 1, n + 1, n, pos)]);
    let v = parseBinaryPlist(file);
    for (let i = 0; i < n; i++) {
      const arr = v as unknown[];
      expect(arr).toHaveLength(2);
      expect(arr[0]).toBe(arr[1]);
      v = arr[0] as never;
    }
    expect(v).toBe(1);
  });
});

function trailer(offsetSize: number, refSize: number, count: number, top: number, tableOffset: number): Buffer {
  const t = Buffer.alloc(32);
  t[6] = offsetSize;
  t[7] = refSize;
  t.writeBigUInt64BE(BigInt(count), 8);
  t.writeBigUInt64BE(BigInt(top), 16);
  t.writeBigUInt64BE(BigInt(tableOffset), 24);
  return t;
}

describe('XML plist parser', () => {
  it('reads what the test writer writes (Info.plist shape)', () => {
    const xml = writeXmlPlist({ 'Device Name': 'Anna’s <iPhone> & co', n: 42, r: new Real(2.5), t: true, f: false, d: new Date('2024-06-01T10:00:00Z'), b: new Uint8Array([1, 2, 3]), a: ['x', ''], e: {} });
    const v = parseXmlPlist(xml) as Record<string, unknown>;
    expect(v['Device Name']).toBe('Anna’s <iPhone> & co');
    expect(v.n).toBe(42);
    expect(v.r).toBe(2.5);
    expect(v.t).toBe(true);
    expect(v.f).toBe(false);
    expect((v.d as Date).toISOString()).toBe('2024-06-01T10:00:00.000Z');
    expect(v.b).toEqual(new Uint8Array([1, 2, 3]));
    expect(v.a).toEqual(['x', '']);
    expect(Object.keys(v.e as object)).toEqual([]);
  });

  it('keeps whitespace inside strings and decodes character references', () => {
    const v = parseXmlPlist('<plist><dict><key>k</key><string>  a&#x41;&#66;  </string><key>empty</key><string/></dict></plist>') as Record<string, unknown>;
    expect(v.k).toBe('  aAB  ');
    expect(v.empty).toBe('');
  });

  it('refuses malformed documents', () => {
    for (const bad of [
      '<plist><dict><string>x</string></dict></plist>',
      '<plist><integer>1.5</integer></plist>',
      '<plist><string>x</plist>',
      '<plist><dict><key>a</key></dict></plist>',
      '<plist><string>a</string><string>b</string></plist>',
      '<plist><data>@@@</data></plist>',
      '<plist><foo/></plist>',
      '<plist><string>&bogus;</string></plist>',
    ]) {
      expect(() => parseXmlPlist(bad), bad).toThrow(XmlPlistFormatError);
    }
  });

  it('parsePlist picks the format and wraps errors as BACKUP_PLIST_INVALID', () => {
    expect(parsePlist(Buffer.from('<?xml version="1.0"?><plist version="1.0"><true/></plist>'), 'x')).toBe(true);
    expect(parsePlist(writeBinaryPlist([1]), 'x')).toEqual([1]);
    expect(() => parsePlist(Buffer.from('hello'), '/b/Info.plist')).toThrow(expect.objectContaining({ code: 'BACKUP_PLIST_INVALID' }));
  });
});
