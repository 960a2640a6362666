import { inflateSync } from 'node:zlib';
import { isKeepsakeError, type KeepsakeError } from '@keepsake/core';
import { ByteReader, decodeLatin1, decodeUtf8, startsWithAscii } from './byte-reader.js';
import { isTiffHeader } from './heif.js';
import { MEDIA_MALFORMED, malformed } from './malformed.js';
import type { RandomAccess } from './random-access.js';

/** Metadata a PNG carries before its image data. */
export interface PngMetadata {
  /** TIFF bytes (`MM\0*`/`II*\0`…) from `eXIf`, or from ImageMagick's "Raw profile type exif/APP1" text. */
  exif?: Uint8Array;
  /** The XMP packet from the `iTXt` chunk `XML:com.adobe.xmp`. */
  xmp?: string;
  /**
   * Damage met while walking the chunks (a chunk running past the end of the file, a file ending
   * before its image data, a text chunk with damaged compressed data), when EXIF or XMP was read
   * anyway: what was read is returned, and this MEDIA_MALFORMED error says what was wrong, for the
   * caller to report as a warning (`media:malformed`). With nothing usable the reader throws it.
   */
  damage?: KeepsakeError;
}

const SIGNATURE = '\x89PNG\r\n\x1a\n';
/** A metadata chunk larger than this is corrupt (EXIF is ≤ 64 KB in practice, XMP a few KB). */
const MAX_METADATA_CHUNK = 16 * 1024 * 1024;
const MAX_CHUNKS = 10_000;
const XMP_KEYWORD = 'XML:com.adobe.xmp';

/**
 * Walks a PNG's chunks up to the first `IDAT` (image data is never read, nor its length checked:
 * a partly copied file whose image data is cut short still has its metadata) and returns the EXIF
 * (`eXIf`, PNG 1.5 / 3rd edition) and XMP (`iTXt` "XML:com.adobe.xmp", possibly deflated). iPhone
 * and Mac screenshots carry both. Chunk lengths are checked against the file before any read. Damage
 * stops the walk (a damaged text chunk is only skipped); what was read before it is kept, with
 * `damage` set. MEDIA_MALFORMED is thrown only when nothing usable was read.
 */
export async function readPngMetadata(ra: RandomAccess): Promise<PngMetadata> {
  const head = await ra.read(0, 8);
  if (!startsWithAscii(head, SIGNATURE)) throw malformed('Not a PNG (no signature)', 0);
  const out: PngMetadata = {};
  let damage: KeepsakeError | undefined;
  let pos = 8;
  for (let n = 0; ; n++) {
    if (pos + 8 > ra.size) {
      damage ??= malformed('PNG ends before its image data (IDAT)', pos);
      break;
    }
    if (n > MAX_CHUNKS) {
      damage ??= malformed('Too many PNG chunks before the image data', pos);
      break;
    }
    const header = new ByteReader(await ra.read(pos, 8), pos);
    const length = header.u32();
    const type = header.fourcc();
    if (type === 'IDAT' || type === 'IEND') break;
    if (length > 0x7fffffff) {
      damage ??= malformed(`PNG chunk ${JSON.stringify(type)} has length ${length}`, pos);
      break;
    }
    if (pos + 12 + length > ra.size) {
      damage ??= malformed(`PNG chunk ${JSON.stringify(type)} runs past the end of the file`, pos);
      break;
    }
    const dataAt = pos + 8;
    if (type === 'eXIf' && out.exif === undefined && length <= MAX_METADATA_CHUNK) {
      const data = await ra.read(dataAt, length);
      // Some writers keep the JPEG APP1 prefix.
      const tiff = startsWithAscii(data, 'Exif\0\0') ? data.subarray(6) : data;
      if (isTiffHeader(tiff)) out.exif = tiff;
    } else if ((type === 'iTXt' || type === 'zTXt' || type === 'tEXt') && length <= MAX_METADATA_CHUNK) {
      let text: { keyword: string; text: string } | undefined;
      try {
        text = textChunk(type, await ra.read(dataAt, length), dataAt);
      } catch (err) {
        // one damaged text chunk costs only itself: the chunk lengths still lead to the next one
        if (!isKeepsakeError(err) || err.code !== MEDIA_MALFORMED) throw err;
        damage ??= err;
      }
      if (text?.keyword === XMP_KEYWORD && out.xmp === undefined) out.xmp = text.text;
      else if (text && out.exif === undefined && /^Raw profile type (exif|APP1)$/i.test(text.keyword)) {
        const tiff = rawProfileTiff(text.text);
        if (tiff) out.exif = tiff;
      }
    }
    pos = dataAt + length + 4; // data + CRC
  }
  if (damage) {
    if (out.exif === undefined && out.xmp === undefined) throw damage;
    out.damage = damage;
  }
  return out;
}

/** Inflates zlib data, refusing output beyond the metadata limit (a deflate bomb is corrupt data). */
function inflate(bytes: Uint8Array, at: number): Uint8Array {
  try {
    return new Uint8Array(inflateSync(bytes, { maxOutputLength: MAX_METADATA_CHUNK }));
  } catch {
    throw malformed('PNG text chunk has damaged compressed data', at);
  }
}

/** `tEXt` (Latin-1), `zTXt` (deflated Latin-1) and `iTXt` (UTF-8, optionally deflated). */
function textChunk(type: string, data: Uint8Array, at: number): { keyword: string; text: string } | undefined {
  const nul = data.indexOf(0);
  if (nul <= 0 || nul > 79) return undefined;
  const keyword = decodeLatin1(data.subarray(0, nul));
  if (type === 'tEXt') return { keyword, text: decodeLatin1(data.subarray(nul + 1)) };
  if (type === 'zTXt') {
    if (data[nul + 1] !== 0) return undefined; // compression method 0 = zlib is the only one
    return { keyword, text: decodeLatin1(inflate(data.subarray(nul + 2), at)) };
  }
  const compressed = data[nul + 1] === 1;
  if (compressed && data[nul + 2] !== 0) return undefined;
  const langEnd = data.indexOf(0, nul + 3);
  const translatedEnd = langEnd === -1 ? -1 : data.indexOf(0, langEnd + 1);
  if (translatedEnd === -1) return undefined;
  const body = data.subarray(translatedEnd + 1);
  return { keyword, text: decodeUtf8(compressed ? inflate(body, at) : body) };
}

/**
 * ImageMagick's "Raw profile type exif" text: `\nexif\n   <length>\n<hex…>`, the bytes being
 * `Exif\0\0` + TIFF (or the TIFF alone).
 */
function rawProfileTiff(text: string): Uint8Array | undefined {
  const m = text.match(/^\s*[A-Za-z0-9]+\s*\n\s*(\d+)\s*\n([\s0-9A-Fa-f]*)$/);
  if (!m) return undefined;
  const length = Number(m[1]);
  const hex = m[2]!.replace(/\s+/g, '');
  if (length <= 0 || length > MAX_METADATA_CHUNK || hex.length < length * 2) return undefined;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  const tiff = startsWithAscii(bytes, 'Exif\0\0') ? bytes.subarray(6) : bytes;
  return isTiffHeader(tiff) ? tiff : undefined;
}
