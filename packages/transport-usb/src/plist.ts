/**
 * Apple property lists: XML encode/decode, binary (`bplist00`) decode via ./plist-binary.ts.
 *
 * usbmuxd and lockdownd speak XML plists (libusbmuxd can only parse XML); binary plists show up
 * in pair records that libimobiledevice sends with SavePairRecord, so decoding accepts both.
 * Everything coming from a device is untrusted: the parser is iterative-free recursive with a depth
 * cap, checks every tag and never allocates more than the input size.
 */
import { KeepsakeError } from '@keepsake/core';
import { decodeBinaryPlist } from './plist-binary.js';

export type PlistValue = string | number | bigint | boolean | Uint8Array | Date | PlistValue[] | PlistDict;
export interface PlistDict {
  [key: string]: PlistValue;
}

/** Marks a number that must be written as `<real>` even when it has no fraction (e.g. 2.0). */
export class PlistReal {
  constructor(readonly value: number) {}
}

const MAX_DEPTH = 64;

export function plistError(message: string, location?: string): KeepsakeError {
  return new KeepsakeError('DEVICE_PROTOCOL_ERROR', `Malformed property list from the device: ${message}`, {
    location,
    hint: 'The device (or something pretending to be one) sent data keepsake cannot read. Reconnect the cable and try again.',
    classification: 'permanent',
  });
}

// ---------------------------------------------------------------- encode

function escapeXml(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

function encodeValue(v: PlistValue | PlistReal, indent: string, out: string[]): void {
  if (v instanceof PlistReal) {
    out.push(`${indent}<real>${Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value)}</real>`);
  } else if (typeof v === 'string') {
    out.push(`${indent}<string>${escapeXml(v)}</string>`);
  } else if (typeof v === 'bigint') {
    out.push(`${indent}<integer>${v.toString()}</integer>`);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v)) out.push(`${indent}<integer>${v}</integer>`);
    else if (Number.isFinite(v)) out.push(`${indent}<real>${v}</real>`);
    else throw new TypeError(`Cannot encode ${v} in a plist`);
  } else if (typeof v === 'boolean') {
    out.push(`${indent}<${v}/>`);
  } else if (v instanceof Uint8Array) {
    out.push(`${indent}<data>${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}</data>`);
  } else if (v instanceof Date) {
    out.push(`${indent}<date>${v.toISOString().replace(/\.\d{3}Z$/, 'Z')}</date>`);
  } else if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(`${indent}<array/>`);
      return;
    }
    out.push(`${indent}<array>`);
    for (const item of v) encodeValue(item, `${indent}\t`, out);
    out.push(`${indent}</array>`);
  } else if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) {
      out.push(`${indent}<dict/>`);
      return;
    }
    out.push(`${indent}<dict>`);
    for (const [k, x] of entries) {
      out.push(`${indent}\t<key>${escapeXml(k)}</key>`);
      encodeValue(x, `${indent}\t`, out);
    }
    out.push(`${indent}</dict>`);
  } else {
    throw new TypeError(`Cannot encode ${typeof v} in a plist`);
  }
}

/** XML plist bytes (UTF-8), in the layout libplist writes. */
export function encodePlist(value: PlistValue | PlistReal): Uint8Array {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
  ];
  encodeValue(value, '', out);
  out.push('</plist>', '');
  return new TextEncoder().encode(out.join('\n'));
}

// ---------------------------------------------------------------- decode

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string, at: number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (m, name: string | undefined) => {
    if (!name) throw plistError(`bare '&' in text`, `offset ${at}`);
    if (name.startsWith('#x')) return codePoint(Number.parseInt(name.slice(2), 16), at);
    if (name.startsWith('#')) return codePoint(Number.parseInt(name.slice(1), 10), at);
    const e = ENTITIES[name];
    if (e === undefined) throw plistError(`unknown entity ${m}`, `offset ${at}`);
    return e;
  });
}

function codePoint(n: number, at: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0x10ffff) throw plistError('invalid character reference', `offset ${at}`);
  return String.fromCodePoint(n);
}

interface Tag {
  name: string;
  kind: 'open' | 'close' | 'empty';
  start: number;
  end: number;
}

class XmlPlistParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parse(): PlistValue {
    this.skipProlog();
    const root = this.nextTag();
    if (root.name !== 'plist' || root.kind === 'close') throw plistError('missing <plist> root element', `offset ${root.start}`);
    if (root.kind === 'empty') throw plistError('empty <plist/>', `offset ${root.start}`);
    const value = this.parseValue(this.nextTag(), 0);
    const close = this.nextTag();
    if (close.name !== 'plist' || close.kind !== 'close') throw plistError('expected </plist>', `offset ${close.start}`);
    this.skipMisc();
    if (this.pos !== this.text.length) throw plistError('trailing content after </plist>', `offset ${this.pos}`);
    return value;
  }

  private skipProlog(): void {
    this.skipMisc();
    if (this.text.startsWith('<?xml', this.pos)) {
      const end = this.text.indexOf('?>', this.pos);
      if (end < 0) throw plistError('unterminated XML declaration');
      this.pos = end + 2;
    }
    this.skipMisc();
    if (this.text.startsWith('<!DOCTYPE', this.pos)) {
      const end = this.text.indexOf('>', this.pos);
      if (end < 0) throw plistError('unterminated DOCTYPE');
      this.pos = end + 1;
    }
    this.skipMisc();
  }

  /** Whitespace and comments. */
  private skipMisc(): void {
    for (;;) {
      while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
      if (this.text.startsWith('<!--', this.pos)) {
        const end = this.text.indexOf('-->', this.pos + 4);
        if (end < 0) throw plistError('unterminated comment', `offset ${this.pos}`);
        this.pos = end + 3;
      } else return;
    }
  }

  private nextTag(): Tag {
    this.skipMisc();
    const start = this.pos;
    if (this.text[start] !== '<') throw plistError('expected an element', `offset ${start}`);
    const end = this.text.indexOf('>', start);
    if (end < 0) throw plistError('unterminated element', `offset ${start}`);
    let body = this.text.slice(start + 1, end);
    let kind: Tag['kind'] = 'open';
    if (body.startsWith('/')) {
      kind = 'close';
      body = body.slice(1);
    } else if (body.endsWith('/')) {
      kind = 'empty';
      body = body.slice(0, -1);
    }
    const name = body.trim().split(/\s+/, 1)[0] ?? '';
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw plistError(`bad element name <${body.slice(0, 20)}>`, `offset ${start}`);
    this.pos = end + 1;
    return { name, kind, start, end: end + 1 };
  }

  /** Raw text up to `</name>`; text elements cannot contain child elements. */
  private textUntilClose(name: string): string {
    const close = `</${name}>`;
    const end = this.text.indexOf(close, this.pos);
    if (end < 0) throw plistError(`missing ${close}`, `offset ${this.pos}`);
    const raw = this.text.slice(this.pos, end);
    if (raw.includes('<')) throw plistError(`unexpected element inside <${name}>`, `offset ${this.pos}`);
    const at = this.pos;
    this.pos = end + close.length;
    return unescapeXml(raw, at);
  }

  private parseValue(tag: Tag, depth: number): PlistValue {
    if (depth > MAX_DEPTH) throw plistError('nesting too deep', `offset ${tag.start}`);
    if (tag.kind === 'close') throw plistError(`unexpected </${tag.name}>`, `offset ${tag.start}`);
    const empty = tag.kind === 'empty';
    switch (tag.name) {
      case 'true':
      case 'false':
        if (!empty) {
          const t = this.textUntilClose(tag.name);
          if (t.trim() !== '') throw plistError(`<${tag.name}> must be empty`, `offset ${tag.start}`);
        }
        return tag.name === 'true';
      case 'string':
        return empty ? '' : this.textUntilClose('string');
      case 'integer': {
        const t = empty ? '' : this.textUntilClose('integer').trim();
        if (!/^[+-]?(\d+|0x[0-9a-fA-F]+)$/.test(t)) throw plistError(`bad integer "${t.slice(0, 30)}"`, `offset ${tag.start}`);
        const neg = t.startsWith('-');
        const digits = t.replace(/^[+-]/, '');
        const big = BigInt(digits) * (neg ? -1n : 1n);
        if (big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(big);
        if (big < -(1n << 63n) || big >= 1n << 64n) throw plistError('integer out of range', `offset ${tag.start}`);
        return big;
      }
      case 'real': {
        const t = empty ? '' : this.textUntilClose('real').trim();
        const n = Number(t);
        if (t === '' || (Number.isNaN(n) && t.toLowerCase() !== 'nan')) throw plistError(`bad real "${t.slice(0, 30)}"`, `offset ${tag.start}`);
        return n;
      }
      case 'data': {
        const t = empty ? '' : this.textUntilClose('data').replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) throw plistError('bad base64 in <data>', `offset ${tag.start}`);
        return new Uint8Array(Buffer.from(t, 'base64'));
      }
      case 'date': {
        const t = empty ? '' : this.textUntilClose('date').trim();
        const d = new Date(t);
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(t) || Number.isNaN(d.getTime()))
          throw plistError(`bad date "${t.slice(0, 30)}"`, `offset ${tag.start}`);
        return d;
      }
      case 'array': {
        const arr: PlistValue[] = [];
        if (empty) return arr;
        for (;;) {
          const next = this.nextTag();
          if (next.kind === 'close') {
            if (next.name !== 'array') throw plistError(`expected </array>, got </${next.name}>`, `offset ${next.start}`);
            return arr;
          }
          arr.push(this.parseValue(next, depth + 1));
        }
      }
      case 'dict': {
        const dict: PlistDict = Object.create(null);
        if (empty) return dict;
        for (;;) {
          const next = this.nextTag();
          if (next.kind === 'close') {
            if (next.name !== 'dict') throw plistError(`expected </dict>, got </${next.name}>`, `offset ${next.start}`);
            return dict;
          }
          if (next.name !== 'key') throw plistError(`expected <key> in <dict>, got <${next.name}>`, `offset ${next.start}`);
          const key = next.kind === 'empty' ? '' : this.textUntilClose('key');
          const valueTag = this.nextTag();
          dict[key] = this.parseValue(valueTag, depth + 1);
        }
      }
      default:
        throw plistError(`unknown element <${tag.name}>`, `offset ${tag.start}`);
    }
  }
}

const BPLIST_MAGIC = 'bplist00';

/** Decodes an XML or binary plist. Throws KeepsakeError DEVICE_PROTOCOL_ERROR on anything malformed. */
export function decodePlist(bytes: Uint8Array): PlistValue {
  if (bytes.byteLength >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') === BPLIST_MAGIC) {
    return decodeBinaryPlist(bytes);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw plistError('not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!text.trimStart().startsWith('<')) throw plistError('neither an XML nor a binary plist');
  return new XmlPlistParser(text).parse();
}

/** Decodes and requires a dictionary at the root. */
export function decodePlistDict(bytes: Uint8Array): PlistDict {
  const v = decodePlist(bytes);
  if (!isDict(v)) throw plistError('expected a dictionary at the root');
  return v;
}

export function isDict(v: unknown): v is PlistDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}
