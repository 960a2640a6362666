/**
 * Binary property lists (`bplist00`), decode and encode.
 *
 * Written here rather than taken from npm: the maintained packages either pull in a whole
 * XML stack or trust offsets from the file. This reader checks every offset and count against the
 * buffer, rejects reference cycles and caps nesting, so a hostile device cannot make it loop,
 * recurse without bound or allocate more than the input's size.
 */
import type { PlistDict, PlistValue } from './plist.js';
import { plistError } from './plist.js';

const TRAILER = 32;
const MAX_DEPTH = 64;
/** Seconds between the Unix epoch and Apple's 2001-01-01 reference date. */
const APPLE_EPOCH_S = 978307200;

export function decodeBinaryPlist(input: Uint8Array): PlistValue {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length < 8 + TRAILER + 1) throw plistError('binary plist too short');
  const t = buf.length - TRAILER;
  const offsetSize = buf[t + 6] as number;
  const refSize = buf[t + 7] as number;
  const numObjects = buf.readBigUInt64BE(t + 8);
  const topObject = buf.readBigUInt64BE(t + 16);
  const tableOffset = buf.readBigUInt64BE(t + 24);
  if (![1, 2, 4, 8].includes(offsetSize) || ![1, 2, 4, 8].includes(refSize)) throw plistError('bad binary plist trailer sizes');
  if (numObjects === 0n || topObject >= numObjects) throw plistError('bad binary plist object count');
  if (tableOffset < 8n || tableOffset + numObjects * BigInt(offsetSize) > BigInt(t)) throw plistError('binary plist offset table out of bounds');
  const count = Number(numObjects);
  const table = Number(tableOffset);

  const readUInt = (at: number, size: number): number => {
    if (at < 0 || at + size > t) throw plistError('binary plist read out of bounds', `offset ${at}`);
    if (size === 8) {
      const v = buf.readBigUInt64BE(at);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw plistError('binary plist offset too large', `offset ${at}`);
      return Number(v);
    }
    return buf.readUIntBE(at, size);
  };
  const objectOffset = (ref: number): number => {
    if (ref >= count) throw plistError(`object reference ${ref} out of range`);
    const off = readUInt(table + ref * offsetSize, offsetSize);
    if (off < 8 || off >= table) throw plistError(`object ${ref} offset out of bounds`);
    return off;
  };

  const active = new Set<number>();

  /** Returns [count, position after the count]. */
  const lengthOf = (marker: number, at: number): [number, number] => {
    const low = marker & 0x0f;
    if (low !== 0x0f) return [low, at + 1];
    const intMarker = buf[at + 1];
    if (intMarker === undefined || (intMarker & 0xf0) !== 0x10) throw plistError('bad length marker', `offset ${at}`);
    const size = 1 << (intMarker & 0x0f);
    if (size > 8) throw plistError('bad length size', `offset ${at}`);
    const n = readUInt(at + 2, size);
    return [n, at + 2 + size];
  };

  const need = (at: number, bytes: number): void => {
    if (bytes < 0 || at + bytes > table) throw plistError('binary plist object runs past its end', `offset ${at}`);
  };

  const readObject = (ref: number, depth: number): PlistValue => {
    if (depth > MAX_DEPTH) throw plistError('nesting too deep');
    if (active.has(ref)) throw plistError('reference cycle');
    const at = objectOffset(ref);
    const marker = buf[at] as number;
    const type = marker >> 4;
    switch (type) {
      case 0x0:
        if (marker === 0x08) return false;
        if (marker === 0x09) return true;
        throw plistError(`unsupported marker 0x${marker.toString(16)}`, `offset ${at}`);
      case 0x1: {
        const size = 1 << (marker & 0x0f);
        if (size > 16) throw plistError('bad integer size', `offset ${at}`);
        need(at + 1, size);
        if (size === 16) {
          // 128-bit integers only carry 64-bit values in practice; take the low half.
          return toNumber(buf.readBigInt64BE(at + 9));
        }
        if (size === 8) return toNumber(buf.readBigInt64BE(at + 1));
        return buf.readUIntBE(at + 1, size);
      }
      case 0x2: {
        const size = 1 << (marker & 0x0f);
        need(at + 1, size);
        if (size === 4) return buf.readFloatBE(at + 1);
        if (size === 8) return buf.readDoubleBE(at + 1);
        throw plistError('bad real size', `offset ${at}`);
      }
      case 0x3:
        if (marker !== 0x33) throw plistError('bad date marker', `offset ${at}`);
        need(at + 1, 8);
        return new Date((buf.readDoubleBE(at + 1) + APPLE_EPOCH_S) * 1000);
      case 0x4: {
        const [n, start] = lengthOf(marker, at);
        need(start, n);
        return new Uint8Array(buf.subarray(start, start + n));
      }
      case 0x5: {
        const [n, start] = lengthOf(marker, at);
        need(start, n);
        return buf.toString('latin1', start, start + n);
      }
      case 0x6: {
        const [n, start] = lengthOf(marker, at);
        need(start, n * 2);
        const chars = Buffer.from(buf.subarray(start, start + n * 2));
        chars.swap16();
        return chars.toString('utf16le');
      }
      case 0x8: {
        const size = (marker & 0x0f) + 1;
        need(at + 1, size);
        return readUInt(at + 1, Math.min(size, 8));
      }
      case 0xa:
      case 0xd: {
        const [n, start] = lengthOf(marker, at);
        const refs = type === 0xd ? n * 2 : n;
        need(start, refs * refSize);
        active.add(ref);
        try {
          if (type === 0xa) {
            const arr: PlistValue[] = [];
            for (let i = 0; i < n; i++) arr.push(readObject(readUInt(start + i * refSize, refSize), depth + 1));
            return arr;
          }
          const dict: PlistDict = Object.create(null);
          for (let i = 0; i < n; i++) {
            const key = readObject(readUInt(start + i * refSize, refSize), depth + 1);
            if (typeof key !== 'string') throw plistError('dictionary key is not a string', `offset ${at}`);
            dict[key] = readObject(readUInt(start + (n + i) * refSize, refSize), depth + 1);
          }
          return dict;
        } finally {
          active.delete(ref);
        }
      }
      default:
        throw plistError(`unsupported marker 0x${marker.toString(16)}`, `offset ${at}`);
    }
  };

  return readObject(Number(topObject), 0);
}

function toNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Encodes a value as `bplist00` (no object sharing; used for pair records and tests). */
export function encodeBinaryPlist(value: PlistValue): Uint8Array {
  const objects: Buffer[] = [];
  const lengthHeader = (type: number, n: number): Buffer => {
    if (n < 15) return Buffer.from([(type << 4) | n]);
    return Buffer.concat([Buffer.from([(type << 4) | 0x0f]), intBytes(n)]);
  };
  // Objects are flattened first so references can use a fixed 4-byte size.
  const add = (v: PlistValue): number => {
    const index = objects.length;
    objects.push(Buffer.alloc(0));
    let out: Buffer;
    if (typeof v === 'boolean') out = Buffer.from([v ? 0x09 : 0x08]);
    else if (typeof v === 'number' && Number.isInteger(v)) out = intBytes(v);
    else if (typeof v === 'bigint') {
      out = Buffer.alloc(9);
      out[0] = 0x13;
      out.writeBigInt64BE(v, 1);
    } else if (typeof v === 'number') {
      out = Buffer.alloc(9);
      out[0] = 0x23;
      out.writeDoubleBE(v, 1);
    } else if (typeof v === 'string') {
      if (/^[\x00-\x7f]*$/.test(v)) out = Buffer.concat([lengthHeader(0x5, v.length), Buffer.from(v, 'latin1')]);
      else {
        const u = Buffer.from(v, 'utf16le');
        u.swap16();
        out = Buffer.concat([lengthHeader(0x6, u.length / 2), u]);
      }
    } else if (v instanceof Uint8Array) out = Buffer.concat([lengthHeader(0x4, v.byteLength), Buffer.from(v)]);
    else if (v instanceof Date) {
      out = Buffer.alloc(9);
      out[0] = 0x33;
      out.writeDoubleBE(v.getTime() / 1000 - APPLE_EPOCH_S, 1);
    } else if (Array.isArray(v)) {
      const refs = v.map(add);
      out = Buffer.concat([lengthHeader(0xa, refs.length), refBytes(refs)]);
    } else {
      const entries = Object.entries(v);
      const keys = entries.map(([k]) => add(k));
      const vals = entries.map(([, x]) => add(x));
      out = Buffer.concat([lengthHeader(0xd, entries.length), refBytes([...keys, ...vals])]);
    }
    objects[index] = out;
    return index;
  };
  add(value);
  const header = Buffer.from('bplist00', 'latin1');
  const offsets: number[] = [];
  let pos = header.length;
  for (const o of objects) {
    offsets.push(pos);
    pos += o.length;
  }
  const table = Buffer.alloc(offsets.length * 8);
  for (const [i, o] of offsets.entries()) table.writeBigUInt64BE(BigInt(o), i * 8);
  const trailer = Buffer.alloc(TRAILER);
  trailer[6] = 8;
  trailer[7] = 4;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(0n, 16);
  trailer.writeBigUInt64BE(BigInt(pos), 24);
  return new Uint8Array(Buffer.concat([header, ...objects, table, trailer]));
}

function intBytes(n: number): Buffer {
  if (n >= 0 && n < 0x100) return Buffer.from([0x10, n]);
  if (n >= 0 && n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = 0x11;
    b.writeUInt16BE(n, 1);
    return b;
  }
  if (n >= 0 && n < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = 0x12;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0x13;
  b.writeBigInt64BE(BigInt(n), 1);
  return b;
}

function refBytes(refs: number[]): Buffer {
  const b = Buffer.alloc(refs.length * 4);
  for (const [i, r] of refs.entries()) b.writeUInt32BE(r, i * 4);
  return b;
}
