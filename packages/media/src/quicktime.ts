import { type ByteReader, decodeLatin1, decodeUtf8, startsWithAscii } from './byte-reader.js';
import { type Box, bodyOf, childBoxes, readBody, walkBoxes } from './isobmff.js';
import { malformed } from './malformed.js';
import { MAX_METADATA_READ, type RandomAccess } from './random-access.js';

/** Seconds between 1904-01-01 (QuickTime epoch) and 1970-01-01. */
const QT_EPOCH_OFFSET = 2_082_844_800;

export interface MovieHeader {
  /** Creation time as a UTC instant (ms since the Unix epoch); undefined when 0 (unset). */
  creationTimeMs?: number;
  modificationTimeMs?: number;
  timescale: number;
  /** Duration in seconds. */
  duration: number;
}

export interface QuickTimeTrack {
  id: number;
  /** `vide`, `soun`, `meta`, … */
  handler: string;
  /** Sample entry format (`avc1`, `hvc1`, `lpcm`, `mebx`, …). */
  format?: string;
  width?: number;
  height?: number;
  /** Keys declared by a `mebx` sample entry. */
  metadataKeys?: string[];
}

export interface QuickTimeMetadata {
  movie?: MovieHeader;
  /** `moov/meta` Keys (`mdta`) values by full key name, e.g. `com.apple.quicktime.creationdate`. */
  keys: Record<string, string | number>;
  /** Raw `com.apple.quicktime.creationdate` (local time with its offset). */
  creationDate?: string;
  /** `com.apple.quicktime.content.identifier`: the Live Photo pairing key. */
  contentIdentifier?: string;
  tracks: QuickTimeTrack[];
  /**
   * Presentation time of the Live Photo still in the movie timeline, in microseconds, from the
   * `com.apple.quicktime.still-image-time` track with its edit list applied.
   */
  stillImageTimeUs?: number;
}

/** Finds `moov` by walking top-level headers only (never reads `mdat`). */
export async function readQuickTimeMetadata(ra: RandomAccess): Promise<QuickTimeMetadata> {
  const moovBox = await findMoov(ra);
  const moov = await readBody(ra, moovBox, MAX_METADATA_READ);
  const out: QuickTimeMetadata = { keys: {}, tracks: [] };
  let movieTimescale = 0;
  const pendingStill: { track: ByteReader; trak: Box }[] = [];
  let udtaKeys: Record<string, string | number> = {};
  for (const box of childBoxes(moov)) {
    const r = bodyOf(moov, box);
    if (box.type === 'mvhd') {
      out.movie = parseMvhd(r);
      movieTimescale = out.movie.timescale;
    } else if (box.type === 'meta') {
      Object.assign(out.keys, parseKeysMeta(r));
    } else if (box.type === 'udta') {
      udtaKeys = parseUdtaKeys(r);
    } else if (box.type === 'trak') {
      const track = parseTrak(r);
      out.tracks.push(track.info);
      if (track.info.metadataKeys?.includes('com.apple.quicktime.still-image-time')) pendingStill.push({ track: r, trak: box });
    }
  }
  // moov/meta (Apple) wins; moov/udta/meta is where ffmpeg and others write the same Keys.
  out.keys = { ...udtaKeys, ...out.keys };
  const cd = out.keys['com.apple.quicktime.creationdate'];
  if (typeof cd === 'string') out.creationDate = cd;
  const ci = out.keys['com.apple.quicktime.content.identifier'];
  if (typeof ci === 'string') out.contentIdentifier = ci;
  const still = pendingStill[0];
  if (still && movieTimescale > 0) {
    const t = stillPresentationTime(still.track, movieTimescale);
    if (t !== undefined) out.stillImageTimeUs = Math.round(t * 1_000_000);
  }
  return out;
}

/**
 * Walks top-level headers to `moov`. Damage after a complete `moov` (junk appended by an editor
 * or a vendor trailer) does not matter for metadata; damage before it does.
 */
async function findMoov(ra: RandomAccess): Promise<Box> {
  let moov: Box | undefined;
  try {
    for await (const box of walkBoxes(ra, 0, ra.size)) if (box.type === 'moov') moov ??= box;
  } catch (err) {
    if (!moov) throw err;
  }
  if (!moov) throw malformed('QuickTime/MP4 file has no moov box', 0);
  return moov;
}

function qtTime(v: number): number | undefined {
  return v === 0 ? undefined : (v - QT_EPOCH_OFFSET) * 1000;
}

function parseMvhd(r: ByteReader): MovieHeader {
  const version = r.u8();
  r.skip(3);
  const created = version === 1 ? r.u64() : r.u32();
  const modified = version === 1 ? r.u64() : r.u32();
  const timescale = r.u32();
  const duration = version === 1 ? r.u64() : r.u32();
  const out: MovieHeader = { timescale, duration: timescale > 0 ? duration / timescale : 0 };
  const c = qtTime(created);
  if (c !== undefined) out.creationTimeMs = c;
  const m = qtTime(modified);
  if (m !== undefined) out.modificationTimeMs = m;
  return out;
}

/** `meta` may or may not be a FullBox: if `hdlr` follows at +4 there is no version/flags. */
function metaChildren(r: ByteReader): Box[] {
  const full = !startsWithAscii(r.bytes, 'hdlr', 4);
  return childBoxes(r, full ? 4 : 0);
}

/**
 * Keys (`hdlr mdta`) in `moov/udta/meta`, where ffmpeg (`-movflags use_metadata_tags`) puts
 * creationdate and content.identifier when it rewrites a MOV as MP4. An iTunes-style `mdir` meta
 * has no `keys` and yields nothing. Damage here is ignored: `udta` is optional.
 */
function parseUdtaKeys(udta: ByteReader): Record<string, string | number> {
  try {
    const meta = childBoxes(udta).find((b) => b.type === 'meta');
    return meta ? parseKeysMeta(bodyOf(udta, meta)) : {};
  } catch {
    return {};
  }
}

/** `moov/meta` with `hdlr mdta` + `keys` + `ilst`. */
export function parseKeysMeta(r: ByteReader): Record<string, string | number> {
  const children = metaChildren(r);
  const keysBox = children.find((b) => b.type === 'keys');
  const ilstBox = children.find((b) => b.type === 'ilst');
  if (!keysBox || !ilstBox) return {};
  const k = bodyOf(r, keysBox);
  k.skip(4);
  const count = k.u32();
  const names: string[] = [];
  for (let i = 0; i < count && k.remaining >= 8; i++) {
    const size = k.u32();
    if (size < 8 || size - 8 > k.remaining + 4) throw malformed(`keys entry ${i + 1} has size ${size}`, k.offset - 4);
    k.fourcc(); // namespace (mdta)
    names.push(decodeUtf8(k.take(size - 8)));
  }
  const out: Record<string, string | number> = {};
  const ilst = bodyOf(r, ilstBox);
  for (const item of childBoxes(ilst)) {
    const ib = bodyOf(ilst, item);
    const index = latin1Index(item.type);
    const name = names[index - 1] ?? `#${index}`;
    const dataBox = childBoxes(ib).find((b) => b.type === 'data');
    if (!dataBox) continue;
    const value = decodeDataAtom(bodyOf(ib, dataBox));
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function latin1Index(type: string): number {
  return ((type.charCodeAt(0) << 24) >>> 0) + (type.charCodeAt(1) << 16) + (type.charCodeAt(2) << 8) + type.charCodeAt(3);
}

/** A `data` atom: type indicator, locale, value (well-known types only). */
function decodeDataAtom(d: ByteReader): string | number | undefined {
  const indicator = d.u32();
  d.u32(); // locale
  const code = indicator & 0xffffff;
  const bytes = d.take(d.remaining);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (code) {
    case 1:
      return decodeUtf8(bytes);
    case 2: {
      let s = '';
      for (let i = 0; i + 1 < bytes.byteLength; i += 2) s += String.fromCharCode(dv.getUint16(i));
      return s;
    }
    case 21:
    case 65:
    case 66:
    case 67:
    case 74:
      return signedInt(dv);
    case 22:
    case 75:
    case 76:
    case 77:
    case 78:
      return unsignedInt(dv);
    case 23:
      return bytes.byteLength >= 4 ? dv.getFloat32(0) : undefined;
    case 24:
      return bytes.byteLength >= 8 ? dv.getFloat64(0) : undefined;
    default:
      return undefined;
  }
}

function signedInt(dv: DataView): number | undefined {
  switch (dv.byteLength) {
    case 1:
      return dv.getInt8(0);
    case 2:
      return dv.getInt16(0);
    case 4:
      return dv.getInt32(0);
    case 8:
      return Number(dv.getBigInt64(0));
    default:
      return undefined;
  }
}

function unsignedInt(dv: DataView): number | undefined {
  switch (dv.byteLength) {
    case 1:
      return dv.getUint8(0);
    case 2:
      return dv.getUint16(0);
    case 4:
      return dv.getUint32(0);
    case 8:
      return Number(dv.getBigUint64(0));
    default:
      return undefined;
  }
}

const child = (r: ByteReader, type: string): ByteReader | undefined => {
  const box = childBoxes(r).find((b) => b.type === type);
  return box ? bodyOf(r, box) : undefined;
};

function parseTrak(trak: ByteReader): { info: QuickTimeTrack } {
  const info: QuickTimeTrack = { id: 0, handler: '' };
  const tkhd = child(trak, 'tkhd');
  if (tkhd) {
    const version = tkhd.u8();
    tkhd.skip(3 + (version === 1 ? 16 : 8));
    info.id = tkhd.u32();
    tkhd.skip(4 + (version === 1 ? 8 : 4) + 8 + 8 + 36);
    if (tkhd.remaining >= 8) {
      info.width = tkhd.u32() / 65536;
      info.height = tkhd.u32() / 65536;
    }
  }
  const mdia = child(trak, 'mdia');
  const hdlr = mdia && child(mdia, 'hdlr');
  if (hdlr) {
    hdlr.skip(8);
    info.handler = hdlr.fourcc();
  }
  const stsd = mdia && child(mdia, 'minf') && stblChild(mdia, 'stsd');
  if (stsd) {
    stsd.skip(8); // version/flags, entry_count
    const entries = childBoxes(stsd);
    const first = entries[0];
    if (first) {
      info.format = first.type;
      if (first.type === 'mebx') info.metadataKeys = mebxKeys(bodyOf(stsd, first));
    }
  }
  if (info.width === 0 && info.height === 0) {
    delete info.width;
    delete info.height;
  }
  return { info };
}

function stblChild(mdia: ByteReader, type: string): ByteReader | undefined {
  const minf = child(mdia, 'minf');
  const stbl = minf && child(minf, 'stbl');
  return stbl && child(stbl, type);
}

/** `mebx` sample entry: 6 reserved + data_reference_index, then `keys` with one box per local key id. */
function mebxKeys(r: ByteReader): string[] {
  r.skip(8);
  const keys = child(r, 'keys');
  if (!keys) return [];
  // Apple writes `keys` here without version/flags; tolerate a FullBox header too.
  const start = startsWithAscii(keys.bytes, 'keyd', 12) ? 0 : 4;
  const out: string[] = [];
  for (const entry of childBoxes(keys, start)) {
    const e = bodyOf(keys, entry);
    const keyd = child(e, 'keyd');
    if (!keyd || keyd.remaining < 4) continue;
    keyd.skip(4); // namespace
    out.push(decodeLatin1(keyd.take(keyd.remaining)));
  }
  return out;
}

/** Media time (seconds) of the first sample, mapped into the movie timeline through `elst`. */
function stillPresentationTime(trak: ByteReader, movieTimescale: number): number | undefined {
  const mdia = child(trak, 'mdia');
  const mdhd = mdia && child(mdia, 'mdhd');
  if (!mdia || !mdhd) return undefined;
  const v = mdhd.u8();
  mdhd.skip(3 + (v === 1 ? 16 : 8));
  const mediaTimescale = mdhd.u32();
  if (mediaTimescale === 0) return undefined;
  // The first sample decodes at media time 0; a composition offset (ctts) shifts its presentation.
  let sampleMediaTime = 0;
  const ctts = stblChild(mdia, 'ctts');
  if (ctts && ctts.remaining >= 16) {
    const cv = ctts.u8();
    ctts.skip(3);
    if (ctts.u32() > 0) {
      ctts.u32();
      sampleMediaTime = cv === 1 ? ctts.i32() : ctts.u32();
    }
  }
  const edts = child(trak, 'edts');
  const elst = edts && child(edts, 'elst');
  if (!elst) return sampleMediaTime / mediaTimescale;
  const ev = elst.u8();
  elst.skip(3);
  const count = elst.u32();
  let movieTime = 0;
  for (let i = 0; i < count; i++) {
    const segmentDuration = ev === 1 ? elst.u64() : elst.u32();
    const mediaTime = ev === 1 ? elst.i64() : elst.i32();
    elst.skip(4); // media rate
    if (mediaTime === -1) {
      movieTime += segmentDuration;
      continue;
    }
    const segmentMediaLength = (segmentDuration / movieTimescale) * mediaTimescale;
    if (sampleMediaTime >= mediaTime && sampleMediaTime < mediaTime + Math.max(1, segmentMediaLength)) {
      return movieTime / movieTimescale + (sampleMediaTime - mediaTime) / mediaTimescale;
    }
    movieTime += segmentDuration;
  }
  return undefined;
}

/** Parses `com.apple.quicktime.location.ISO6709` (`+52.2097-000.8955+103.640/`). */
export function parseIso6709(s: string): { latitude: number; longitude: number; altitude?: number } | undefined {
  const m = s.match(/^([+-]\d{2}(?:\.\d+)?)([+-]\d{3}(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?/);
  if (!m) return undefined;
  const out: { latitude: number; longitude: number; altitude?: number } = { latitude: Number(m[1]), longitude: Number(m[2]) };
  if (m[3] !== undefined) out.altitude = Number(m[3]);
  return out;
}
