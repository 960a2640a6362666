/**
 * Test-only plist writers, written independently of the package's parsers so the tests do not
 * check the parsers against themselves.
 */

export class Uid {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}
export class Real {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}
export type WValue = string | number | bigint | boolean | Date | Uint8Array | Uid | Real | null | WValue[] | { [k: string]: WValue };

const APPLE_EPOCH_MS = Date.UTC(2001, 0, 1);

/** Binary plist (`bplist00`) writer: objects are not shared, refs sized to the object count. */
export function writeBinaryPlist(root: WValue): Uint8Array {
  const objects: WValue[] = [];
  const children = new Map<number, number[]>();
  const flatten = (v: WValue): number => {
    const idx = objects.length;
    objects.push(v);
    if (Array.isArray(v)) children.set(idx, v.map(flatten));
    else if (isDict(v)) {
      const keys = Object.keys(v);
      const keyRefs = keys.map((k) => flatten(k));
      const valRefs = keys.map((k) => flatten(v[k] as WValue));
      children.set(idx, [...keyRefs, ...valRefs]);
    }
    return idx;
  };
  flatten(root);
  const refSize = objects.length < 256 ? 1 : objects.length < 65536 ? 2 : 4;
  const parts: Buffer[] = [Buffer.from('bplist00', 'latin1')];
  let pos = 8;
  const offsets: number[] = [];
  const push = (b: Buffer) => {
    parts.push(b);
    pos += b.byteLength;
  };
  const header = (type: number, count: number) => {
    if (count < 15) return Buffer.from([(type << 4) | count]);
    return Buffer.concat([Buffer.from([(type << 4) | 0xf]), intBytes(count)]);
  };
  const refs = (list: number[]) => {
    const b = Buffer.alloc(list.length * refSize);
    for (const [i, r] of list.entries()) b.writeUIntBE(r, i * refSize, refSize);
    return b;
  };
  objects.forEach((v, idx) => {
    offsets.push(pos);
    if (v === null) push(Buffer.from([0x00]));
    else if (v === false) push(Buffer.from([0x08]));
    else if (v === true) push(Buffer.from([0x09]));
    else if (typeof v === 'number' || typeof v === 'bigint') push(intBytes(v));
    else if (v instanceof Real) {
      const b = Buffer.alloc(9);
      b[0] = 0x23;
      b.writeDoubleBE(v.value, 1);
      push(b);
    } else if (v instanceof Date) {
      const b = Buffer.alloc(9);
      b[0] = 0x33;
      b.writeDoubleBE((v.getTime() - APPLE_EPOCH_MS) / 1000, 1);
      push(b);
    } else if (v instanceof Uint8Array) push(Buffer.concat([header(0x4, v.byteLength), Buffer.from(v)]));
    else if (v instanceof Uid) {
      const size = v.value < 256 ? 1 : v.value < 65536 ? 2 : 4;
      const b = Buffer.alloc(1 + size);
      b[0] = 0x80 | (size - 1);
      b.writeUIntBE(v.value, 1, size);
      push(b);
    } else if (typeof v === 'string') {
      if (/^[\x00-\x7f]*$/.test(v)) push(Buffer.concat([header(0x5, v.length), Buffer.from(v, 'latin1')]));
      else {
        const le = Buffer.from(v, 'utf16le');
        le.swap16();
        push(Buffer.concat([header(0x6, le.byteLength / 2), le]));
      }
    } else if (Array.isArray(v)) push(Buffer.concat([header(0xa, v.length), refs(children.get(idx) ?? [])]));
    else push(Buffer.concat([header(0xd, Object.keys(v).length), refs(children.get(idx) ?? [])]));
  });
  const tableOffset = pos;
  const offsetSize = tableOffset < 256 ? 1 : tableOffset < 65536 ? 2 : 4;
  const table = Buffer.alloc(offsets.length * offsetSize);
  for (const [i, o] of offsets.entries()) table.writeUIntBE(o, i * offsetSize, offsetSize);
  push(table);
  const trailer = Buffer.alloc(32);
  trailer[6] = offsetSize;
  trailer[7] = refSize;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(0n, 16);
  trailer.writeBigUInt64BE(BigInt(tableOffset), 24);
  push(trailer);
  return new Uint8Array(Buffer.concat(parts));
}

function intBytes(v: number | bigint): Buffer {
  const n = BigInt(v);
  if (n >= 0n && n < 256n) return Buffer.from([0x10, Number(n)]);
  if (n >= 0n && n < 65536n) {
    const b = Buffer.alloc(3);
    b[0] = 0x11;
    b.writeUInt16BE(Number(n), 1);
    return b;
  }
  if (n >= 0n && n < 4294967296n) {
    const b = Buffer.alloc(5);
    b[0] = 0x12;
    b.writeUInt32BE(Number(n), 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0x13;
  b.writeBigInt64BE(n, 1);
  return b;
}

function isDict(v: WValue): v is { [k: string]: WValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date) && !(v instanceof Uid) && !(v instanceof Real);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** XML plist writer (the format Finder/iTunes use for Info.plist). */
export function writeXmlPlist(root: WValue): string {
  const out: string[] = [];
  const emit = (v: WValue, indent: string) => {
    if (v === true || v === false) out.push(`${indent}<${v}/>`);
    else if (typeof v === 'number' || typeof v === 'bigint') out.push(`${indent}<integer>${v}</integer>`);
    else if (v instanceof Real) out.push(`${indent}<real>${v.value}</real>`);
    else if (v instanceof Date) out.push(`${indent}<date>${v.toISOString().replace(/\.\d{3}Z$/, 'Z')}</date>`);
    else if (v instanceof Uint8Array) out.push(`${indent}<data>\n${indent}${Buffer.from(v).toString('base64')}\n${indent}</data>`);
    else if (typeof v === 'string') out.push(`${indent}<string>${esc(v)}</string>`);
    else if (Array.isArray(v)) {
      out.push(`${indent}<array>`);
      for (const x of v) emit(x, `${indent}\t`);
      out.push(`${indent}</array>`);
    } else if (v === null || v instanceof Uid) throw new Error('XML plists have no null or UID');
    else {
      out.push(`${indent}<dict>`);
      for (const [k, x] of Object.entries(v)) {
        out.push(`${indent}\t<key>${esc(k)}</key>`);
        emit(x, `${indent}\t`);
      }
      out.push(`${indent}</dict>`);
    }
  };
  emit(root, '');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${out.join('\n')}\n</plist>\n`;
}
