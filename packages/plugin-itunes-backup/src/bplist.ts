import { APPLE_EPOCH_OFFSET_S, newDict, type PlistDict, PlistUid, type PlistValue } from './plist-value.js';

/** Thrown for any malformed binary plist; callers wrap it with the file's location. */
export class BplistFormatError extends Error {
  override readonly name = 'BplistFormatError';
}

const HEADER = 'bplist00';
const TRAILER_SIZE = 32;
/** Nesting deeper than this is not a real plist; refusing it bounds recursion. */
const MAX_DEPTH = 512;

export function isBinaryPlist(bytes: Uint8Array): boolean {
  return bytes.byteLength >= HEADER.length + TRAILER_SIZE && Buffer.from(bytes.subarray(0, 8)).toString('latin1') === HEADER;
}

/**
 * Decodes a binary property list (`bplist00`). Strict: every offset, length and reference is
 * checked against the buffer, reference cycles are refused, and trailing garbage in the trailer is
 * an error. Integers that do not fit a double exactly come back as bigint.
 */
export function parseBinaryPlist(input: Uint8Array): PlistValue {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (!isBinaryPlist(buf)) throw new BplistFormatError('missing "bplist00" header or too short');
  const t = buf.byteLength - TRAILER_SIZE;
  const offsetIntSize = buf[t + 6] as number;
  const refSize = buf[t + 7] as number;
  const numObjects = readUIntSafe(buf, t + 8, 8, 'object count');
  const topObject = readUIntSafe(buf, t + 16, 8, 'top object');
  const tableOffset = readUIntSafe(buf, t + 24, 8, 'offset table offset');
  if (offsetIntSize < 1 || offsetIntSize > 8) throw new BplistFormatError(`offset size ${offsetIntSize} out of range`);
  if (refSize < 1 || refSize > 8) throw new BplistFormatError(`object reference size ${refSize} out of range`);
  if (numObjects < 1) throw new BplistFormatError('no objects');
  if (topObject >= numObjects) throw new BplistFormatError('top object index out of range');
  if (tableOffset < HEADER.length || tableOffset + numObjects * offsetIntSize > t) {
    throw new BplistFormatError('offset table outside the file');
  }

  const offsets = new Array<number>(numObjects);
  for (let i = 0; i < numObjects; i++) {
    const off = readUIntSafe(buf, tableOffset + i * offsetIntSize, offsetIntSize, 'object offset');
    if (off < HEADER.length || off >= tableOffset) throw new BplistFormatError(`object ${i} offset ${off} outside the object area`);
    offsets[i] = off;
  }
  const end = tableOffset;
  const active = new Set<number>();
  // Each object is decoded once and shared by every reference to it, so a small file whose
  // objects reference each other many times cannot expand exponentially.
  const decoded = new Map<number, PlistValue>();

  const need = (pos: number, len: number, what: string) => {
    if (len < 0 || pos + len > end) throw new BplistFormatError(`${what} at ${pos} runs past the object area`);
  };

  /** Length of a variable-sized object: the low nibble, or a following int object when it is 0xF. */
  const readCount = (pos: number, nibble: number): { count: number; start: number } => {
    if (nibble !== 0x0f) return { count: nibble, start: pos + 1 };
    need(pos + 1, 1, 'length marker');
    const marker = buf[pos + 1] as number;
    if (marker >> 4 !== 0x1) throw new BplistFormatError(`length at ${pos} is not an integer object`);
    const size = 1 << (marker & 0x0f);
    if (size > 8) throw new BplistFormatError(`length at ${pos} uses ${size} bytes`);
    need(pos + 2, size, 'length');
    return { count: readUIntSafe(buf, pos + 2, size, 'length'), start: pos + 2 + size };
  };

  const readRef = (pos: number): number => {
    const ref = readUIntSafe(buf, pos, refSize, 'object reference');
    if (ref >= numObjects) throw new BplistFormatError(`object reference ${ref} out of range`);
    return ref;
  };

  const parseObject = (index: number, depth: number): PlistValue => {
    if (depth > MAX_DEPTH) throw new BplistFormatError('nesting too deep');
    const seen = decoded.get(index);
    if (seen !== undefined) return seen;
    const value = decodeObject(index, depth);
    decoded.set(index, value);
    return value;
  };

  const decodeObject = (index: number, depth: number): PlistValue => {
    if (active.has(index)) throw new BplistFormatError(`reference cycle through object ${index}`);
    const pos = offsets[index] as number;
    need(pos, 1, 'object marker');
    const marker = buf[pos] as number;
    const type = marker >> 4;
    const nibble = marker & 0x0f;
    switch (type) {
      case 0x0:
        if (marker === 0x00) return null;
        if (marker === 0x08) return false;
        if (marker === 0x09) return true;
        throw new BplistFormatError(`unsupported simple object 0x${marker.toString(16)} at ${pos}`);
      case 0x1: {
        const size = 1 << nibble;
        need(pos + 1, size, 'integer');
        return readInt(buf, pos + 1, size);
      }
      case 0x2: {
        const size = 1 << nibble;
        need(pos + 1, size, 'real');
        if (size === 4) return buf.readFloatBE(pos + 1);
        if (size === 8) return buf.readDoubleBE(pos + 1);
        throw new BplistFormatError(`real of ${size} bytes at ${pos}`);
      }
      case 0x3: {
        if (marker !== 0x33) throw new BplistFormatError(`bad date marker at ${pos}`);
        need(pos + 1, 8, 'date');
        return new Date((buf.readDoubleBE(pos + 1) + APPLE_EPOCH_OFFSET_S) * 1000);
      }
      case 0x4: {
        const { count, start } = readCount(pos, nibble);
        need(start, count, 'data');
        return new Uint8Array(buf.subarray(start, start + count));
      }
      case 0x5: {
        const { count, start } = readCount(pos, nibble);
        need(start, count, 'ASCII string');
        return buf.toString('latin1', start, start + count);
      }
      case 0x6: {
        const { count, start } = readCount(pos, nibble);
        need(start, count * 2, 'UTF-16 string');
        const units = Buffer.from(buf.subarray(start, start + count * 2));
        units.swap16();
        return units.toString('utf16le');
      }
      case 0x8: {
        const size = nibble + 1;
        if (size > 4) throw new BplistFormatError(`UID of ${size} bytes at ${pos}`);
        need(pos + 1, size, 'UID');
        return new PlistUid(buf.readUIntBE(pos + 1, size));
      }
      case 0xa:
      case 0xc: {
        const { count, start } = readCount(pos, nibble);
        need(start, count * refSize, 'array references');
        active.add(index);
        const out: PlistValue[] = [];
        for (let i = 0; i < count; i++) out.push(parseObject(readRef(start + i * refSize), depth + 1));
        active.delete(index);
        return out;
      }
      case 0xd: {
        const { count, start } = readCount(pos, nibble);
        need(start, count * 2 * refSize, 'dictionary references');
        active.add(index);
        const out: PlistDict = newDict();
        for (let i = 0; i < count; i++) {
          const key = parseObject(readRef(start + i * refSize), depth + 1);
          if (typeof key !== 'string') throw new BplistFormatError(`dictionary key at ${pos} is not a string`);
          out[key] = parseObject(readRef(start + (count + i) * refSize), depth + 1);
        }
        active.delete(index);
        return out;
      }
      default:
        throw new BplistFormatError(`unknown object marker 0x${marker.toString(16)} at ${pos}`);
    }
  };

  return parseObject(topObject, 0);
}

function readUIntSafe(buf: Buffer, pos: number, size: number, what: string): number {
  if (pos < 0 || pos + size > buf.byteLength) throw new BplistFormatError(`${what} at ${pos} runs past the end`);
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(buf[pos + i] as number);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BplistFormatError(`${what} ${v} is too large`);
  return Number(v);
}

/** 1, 2 and 4-byte ints are unsigned, 8-byte signed, 16-byte holds an unsigned 64-bit value in its low half. */
function readInt(buf: Buffer, pos: number, size: number): number | bigint {
  let v: bigint;
  switch (size) {
    case 1:
    case 2:
    case 4:
      return buf.readUIntBE(pos, size);
    case 8:
      v = buf.readBigInt64BE(pos);
      break;
    case 16:
      if (buf.readBigUInt64BE(pos) !== 0n && buf.readBigInt64BE(pos) !== -1n) throw new BplistFormatError(`128-bit integer at ${pos} does not fit 64 bits`);
      v = buf.readBigInt64BE(pos) === -1n ? buf.readBigInt64BE(pos + 8) : buf.readBigUInt64BE(pos + 8);
      break;
    default:
      throw new BplistFormatError(`integer of ${size} bytes at ${pos}`);
  }
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
