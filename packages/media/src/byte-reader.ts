import { malformed } from './malformed.js';

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/**
 * A bounds-checked cursor over bytes that came from `base` in the file, so every error names the
 * absolute file offset. Big-endian unless `littleEndian` is set.
 */
export class ByteReader {
  readonly view: DataView;
  pos = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly base = 0,
    public littleEndian = false,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  /** Absolute file offset of the cursor. */
  get offset(): number {
    return this.base + this.pos;
  }

  need(n: number, at = this.pos): void {
    if (n < 0 || at < 0 || at + n > this.bytes.byteLength) throw malformed(`Structure needs ${n} bytes past the end of its container`, this.base + at);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  i8(): number {
    this.need(1);
    return this.view.getInt8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, this.littleEndian);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos, this.littleEndian);
    this.pos += 2;
    return v;
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, this.littleEndian);
    this.pos += 8;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }

  /** u64 as a number; throws when it exceeds 2^53 (no real file is that large). */
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, this.littleEndian);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('64-bit value too large', this.offset);
    this.pos += 8;
    return Number(v);
  }

  i64(): number {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, this.littleEndian);
    this.pos += 8;
    return Number(v);
  }

  /** Unsigned integer of 0, 1, 2, 4 or 8 bytes (iloc field sizes). */
  uint(size: number): number {
    switch (size) {
      case 0:
        return 0;
      case 1:
        return this.u8();
      case 2:
        return this.u16();
      case 4:
        return this.u32();
      case 8:
        return this.u64();
      default:
        throw malformed(`Invalid field size ${size}`, this.offset);
    }
  }

  fourcc(): string {
    this.need(4);
    const s = latin1.decode(this.bytes.subarray(this.pos, this.pos + 4));
    this.pos += 4;
    return s;
  }

  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** NUL-terminated UTF-8 string; tolerates a missing NUL at the end of the data. */
  cstring(): string {
    const end = this.bytes.indexOf(0, this.pos);
    const stop = end === -1 ? this.bytes.byteLength : end;
    const s = utf8.decode(this.bytes.subarray(this.pos, stop));
    this.pos = end === -1 ? stop : stop + 1;
    return s;
  }
}

export function decodeUtf8(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

export function decodeLatin1(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** True when `bytes` at `at` spell `ascii`. */
export function startsWithAscii(bytes: Uint8Array, ascii: string, at = 0): boolean {
  if (at + ascii.length > bytes.byteLength) return false;
  for (let i = 0; i < ascii.length; i++) if (bytes[at + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** First index of `ascii` in `bytes` from `from`, or -1. */
export function indexOfAscii(bytes: Uint8Array, ascii: string, from = 0): number {
  const first = ascii.charCodeAt(0);
  for (let i = bytes.indexOf(first, from); i !== -1 && i + ascii.length <= bytes.byteLength; i = bytes.indexOf(first, i + 1)) {
    if (startsWithAscii(bytes, ascii, i)) return i;
  }
  return -1;
}
