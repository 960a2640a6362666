import { newDict, type PlistDict, type PlistValue } from './plist-value.js';

/** Thrown for any malformed XML property list; callers wrap it with the file's location. */
export class XmlPlistFormatError extends Error {
  override readonly name = 'XmlPlistFormatError';
}

type Token = { kind: 'open'; name: string; selfClosing: boolean } | { kind: 'close'; name: string } | { kind: 'text'; text: string };

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, body: string) => {
    if (body.startsWith('#x')) return String.fromCodePoint(Number.parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(Number.parseInt(body.slice(1), 10));
    const v = ENTITIES[body];
    if (v === undefined) throw new XmlPlistFormatError(`unknown entity ${whole}`);
    return v;
  });
}

/** Splits the document into tags and text, skipping the prolog, doctype and comments. */
function* tokenize(xml: string): Generator<Token> {
  let pos = 0;
  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    if (lt === -1) {
      yield { kind: 'text', text: xml.slice(pos) };
      return;
    }
    if (lt > pos) yield { kind: 'text', text: xml.slice(pos, lt) };
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end === -1) throw new XmlPlistFormatError('unterminated comment');
      pos = end + 3;
      continue;
    }
    if (xml.startsWith('<?', lt) || xml.startsWith('<!', lt)) {
      const end = xml.indexOf('>', lt);
      if (end === -1) throw new XmlPlistFormatError('unterminated declaration');
      pos = end + 1;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt === -1) throw new XmlPlistFormatError('unterminated tag');
    const inner = xml.slice(lt + 1, gt);
    pos = gt + 1;
    if (inner.startsWith('/')) {
      yield { kind: 'close', name: inner.slice(1).trim() };
      continue;
    }
    const selfClosing = inner.endsWith('/');
    const name = (selfClosing ? inner.slice(0, -1) : inner).trim().split(/\s+/)[0] ?? '';
    if (!/^[A-Za-z][\w.-]*$/.test(name)) throw new XmlPlistFormatError(`bad tag <${inner}>`);
    yield { kind: 'open', name, selfClosing };
  }
}

/** Decodes an XML property list (the format of Info.plist in backups). Strict about structure. */
export function parseXmlPlist(xml: string): PlistValue {
  const tokens = [...tokenize(xml)];
  let i = 0;
  /** Next tag, skipping whitespace between elements; other text there is an error. */
  const next = (): Token => {
    for (;;) {
      const t = tokens[i++];
      if (t === undefined) throw new XmlPlistFormatError('unexpected end of document');
      if (t.kind !== 'text') return t;
      if (t.text.trim() !== '') throw new XmlPlistFormatError(`unexpected text "${t.text.trim().slice(0, 40)}"`);
    }
  };
  /** Text content of the element just opened, whitespace kept, then its close tag. */
  const textUntilClose = (name: string): string => {
    let text = '';
    const t = tokens[i];
    if (t?.kind === 'text') {
      text = t.text;
      i++;
    }
    const close = tokens[i++];
    if (close?.kind !== 'close' || close.name !== name) throw new XmlPlistFormatError(`<${name}> must hold only text and be closed`);
    return decodeEntities(text);
  };

  const parseValue = (open: Token, depth: number): PlistValue => {
    if (depth > 512) throw new XmlPlistFormatError('nesting too deep');
    if (open.kind !== 'open') throw new XmlPlistFormatError(`expected a value, got ${open.kind === 'close' ? `</${open.name}>` : 'text'}`);
    const { name, selfClosing } = open;
    switch (name) {
      case 'true':
      case 'false':
        if (!selfClosing) {
          const c = next();
          if (c.kind !== 'close' || c.name !== name) throw new XmlPlistFormatError(`<${name}> must be empty`);
        }
        return name === 'true';
      case 'dict': {
        const out: PlistDict = newDict();
        if (selfClosing) return out;
        for (;;) {
          const t = next();
          if (t.kind === 'close' && t.name === 'dict') return out;
          if (t.kind !== 'open' || t.name !== 'key') throw new XmlPlistFormatError('dictionary entries must start with <key>');
          const key = t.selfClosing ? '' : textUntilClose('key');
          out[key] = parseValue(next(), depth + 1);
        }
      }
      case 'array': {
        const out: PlistValue[] = [];
        if (selfClosing) return out;
        for (;;) {
          const t = next();
          if (t.kind === 'close' && t.name === 'array') return out;
          out.push(parseValue(t, depth + 1));
        }
      }
      case 'string':
        return selfClosing ? '' : textUntilClose('string');
      case 'integer': {
        const text = selfClosing ? '' : textUntilClose('integer').trim();
        if (!/^[+-]?\d+$/.test(text)) throw new XmlPlistFormatError(`<integer> "${text}" is not an integer`);
        const big = BigInt(text);
        return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      case 'real': {
        const text = selfClosing ? '' : textUntilClose('real').trim();
        const v = Number(text);
        if (text === '' || Number.isNaN(v)) throw new XmlPlistFormatError(`<real> "${text}" is not a number`);
        return v;
      }
      case 'date': {
        const text = selfClosing ? '' : textUntilClose('date').trim();
        const d = new Date(text);
        if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(text) || Number.isNaN(d.getTime())) {
          throw new XmlPlistFormatError(`<date> "${text}" is not an ISO 8601 UTC date`);
        }
        return d;
      }
      case 'data': {
        const text = (selfClosing ? '' : textUntilClose('data')).replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new XmlPlistFormatError('<data> is not base64');
        return new Uint8Array(Buffer.from(text, 'base64'));
      }
      default:
        throw new XmlPlistFormatError(`unknown element <${name}>`);
    }
  };

  const root = next();
  if (root.kind !== 'open' || root.name !== 'plist') throw new XmlPlistFormatError('root element is not <plist>');
  const value = parseValue(next(), 0);
  const close = next();
  if (close.kind !== 'close' || close.name !== 'plist') throw new XmlPlistFormatError('<plist> must hold exactly one value');
  for (; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind !== 'text' || t.text.trim() !== '') throw new XmlPlistFormatError('content after </plist>');
  }
  return value;
}
