import { type ByteReader, indexOfAscii, startsWithAscii } from './byte-reader.js';
import { type Box, bodyOf, childBoxes, type FileType, isHeifBrand, parseFtyp, readBody, topLevelBoxes } from './isobmff.js';
import { malformed } from './malformed.js';
import { MAX_METADATA_READ, type RandomAccess } from './random-access.js';

/** One byte range of an item: a file offset (construction 0) or an `idat` offset (construction 1). */
export interface HeifExtent {
  offset: number;
  /** 0 = to the end of the source. */
  length: number;
}

export interface HeifItem {
  id: number;
  /** `hvc1`, `grid`, `Exif`, `mime`, `iden`, `tmap`, … */
  type: string;
  name: string;
  /** `infe` flag 1: not meant to be shown on its own (tiles, metadata). */
  hidden: boolean;
  /** For `mime` items (XMP: `application/rdf+xml`). */
  contentType?: string;
  contentEncoding?: string;
  /** 0 = file offsets, 1 = `idat` offsets, 2 = item offsets (unsupported). */
  constructionMethod: number;
  dataReferenceIndex: number;
  baseOffset: number;
  extents: HeifExtent[];
}

export type HeifProperty =
  | { type: 'ispe'; width: number; height: number }
  | { type: 'irot'; /** Quarter turns anticlockwise (0–3). */ angle: number }
  | { type: 'imir'; /** 0 = top↔bottom, 1 = left↔right. */ mode: number }
  | { type: 'colr'; colourType: 'prof' | 'rICC'; icc: Uint8Array }
  | { type: 'colr'; colourType: 'nclx'; primaries: number; transfer: number; matrix: number; fullRange: boolean }
  | { type: 'pixi'; bitsPerChannel: number[] }
  | {
      type: 'hvcC';
      profileIdc: number;
      levelIdc: number;
      chromaFormat: number;
      bitDepthLuma: number;
      bitDepthChroma: number;
      nalLengthSize: number;
      /** The whole HEVCDecoderConfigurationRecord (VPS/SPS/PPS arrays included). */
      raw: Uint8Array;
    }
  | { type: 'clap'; widthN: number; widthD: number; heightN: number; heightD: number; horizOffN: number; horizOffD: number; vertOffN: number; vertOffD: number }
  | { type: 'auxC'; auxType: string }
  | { type: 'other'; boxType: string };

export interface HeifPropertyLink {
  property: HeifProperty;
  /** Unknown essential properties mean "do not display". */
  essential: boolean;
}

export interface HeifReference {
  /** `dimg`, `thmb`, `cdsc`, `auxl`, … */
  type: string;
  from: number;
  to: number[];
}

export interface HeifGrid {
  rows: number;
  columns: number;
  outputWidth: number;
  outputHeight: number;
  /** Tile item ids in row-major order (`dimg`). */
  tiles: number[];
}

export interface HeifFile {
  fileType: FileType | undefined;
  primaryItemId: number;
  items: Map<number, HeifItem>;
  references: HeifReference[];
  /** Properties per item in `ipma` order (transforms apply in this order). */
  properties: Map<number, HeifPropertyLink[]>;
  /** File offset and length of the `idat` payload, when there is one. */
  idat?: { offset: number; length: number };
  /** Top-level boxes (to spot `mpvd`/`sefd` Motion Photo parts). */
  topLevel: Box[];
}

/** Items or references per file beyond which the file is treated as hostile. */
const MAX_ITEMS = 65_536;

/** Parses a HEIF/HEIC file's `meta` item model without touching the image data. */
export async function readHeif(ra: RandomAccess): Promise<HeifFile> {
  const topLevel = await topLevelBoxes(ra);
  const ftypBox = topLevel.find((b) => b.type === 'ftyp');
  const fileType = ftypBox ? parseFtyp(await readBody(ra, ftypBox, 64 * 1024)) : undefined;
  if (!fileType || !isHeifBrand(fileType)) throw malformed('Not a HEIF file (no ftyp with a HEIF brand)', 0);
  const metaBox = topLevel.find((b) => b.type === 'meta');
  if (!metaBox) throw malformed('HEIF file has no meta box', 0);
  const meta = await readBody(ra, metaBox, MAX_METADATA_READ);
  // HEIF meta is a FullBox; QuickTime-style meta (hdlr right away) is not.
  const skip = startsWithAscii(meta.bytes, 'hdlr', 4) ? 0 : 4;
  const children = childBoxes(meta, skip);

  const heif: HeifFile = { fileType, primaryItemId: 0, items: new Map(), references: [], properties: new Map(), topLevel };
  let havePrimary = false;
  let locations: ItemLocation[] = [];
  for (const box of children) {
    const r = bodyOf(meta, box);
    switch (box.type) {
      case 'pitm': {
        const version = r.u8();
        r.skip(3);
        heif.primaryItemId = version === 0 ? r.u16() : r.u32();
        havePrimary = true;
        break;
      }
      case 'iinf':
        for (const item of parseIinf(r)) heif.items.set(item.id, item);
        break;
      case 'iloc':
        locations = parseIloc(r);
        break;
      case 'iref':
        heif.references.push(...parseIref(r));
        break;
      case 'iprp':
        heif.properties = parseIprp(r);
        break;
      case 'idat':
        heif.idat = { offset: box.bodyStart, length: box.end - box.bodyStart };
        break;
    }
  }
  if (!havePrimary) throw malformed('HEIF meta has no primary item (pitm)', metaBox.start);
  // iloc may come before or after iinf: resolve once everything is parsed.
  for (const loc of locations) {
    const item = heif.items.get(loc.id);
    if (!item) continue;
    item.constructionMethod = loc.constructionMethod;
    item.dataReferenceIndex = loc.dataReferenceIndex;
    item.baseOffset = loc.baseOffset;
    item.extents = loc.extents;
  }
  return heif;
}

function parseIinf(r: ByteReader): HeifItem[] {
  const version = r.u8();
  r.skip(3);
  const count = version === 0 ? r.u16() : r.u32();
  if (count > MAX_ITEMS) throw malformed(`iinf declares ${count} items`, r.offset);
  const items: HeifItem[] = [];
  for (const box of childBoxes(r)) {
    if (box.type !== 'infe') continue;
    const e = bodyOf(r, box);
    const v = e.u8();
    const flags = (e.u8() << 16) | e.u16();
    if (v < 2) continue; // legacy infe without item_type; not produced by any camera we know
    const id = v === 2 ? e.u16() : e.u32();
    e.u16(); // item_protection_index
    const type = e.fourcc();
    const item: HeifItem = { id, type, name: e.remaining > 0 ? e.cstring() : '', hidden: (flags & 1) === 1, constructionMethod: 0, dataReferenceIndex: 0, baseOffset: 0, extents: [] };
    if (type === 'mime' && e.remaining > 0) {
      item.contentType = e.cstring();
      if (e.remaining > 0) item.contentEncoding = e.cstring();
    }
    items.push(item);
  }
  return items;
}

interface ItemLocation {
  id: number;
  constructionMethod: number;
  dataReferenceIndex: number;
  baseOffset: number;
  extents: HeifExtent[];
}

function parseIloc(r: ByteReader): ItemLocation[] {
  const version = r.u8();
  r.skip(3);
  if (version > 2) throw malformed(`Unsupported iloc version ${version}`, r.offset);
  const sizes = r.u8();
  const offsetSize = sizes >> 4;
  const lengthSize = sizes & 15;
  const sizes2 = r.u8();
  const baseOffsetSize = sizes2 >> 4;
  const indexSize = version === 0 ? 0 : sizes2 & 15;
  const count = version < 2 ? r.u16() : r.u32();
  if (count > MAX_ITEMS) throw malformed(`iloc declares ${count} items`, r.offset);
  const out: ItemLocation[] = [];
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? r.u16() : r.u32();
    const constructionMethod = version === 0 ? 0 : r.u16() & 15;
    const dataReferenceIndex = r.u16();
    const baseOffset = r.uint(baseOffsetSize);
    const extentCount = r.u16();
    // Each extent takes at least offset+length bytes: a count the box cannot hold is corrupt.
    if (extentCount * (offsetSize + lengthSize + indexSize) > r.remaining) throw malformed(`iloc item ${id} declares ${extentCount} extents`, r.offset);
    const extents: HeifExtent[] = [];
    for (let j = 0; j < extentCount; j++) {
      if (indexSize > 0) r.uint(indexSize);
      const offset = baseOffset + r.uint(offsetSize);
      extents.push({ offset, length: r.uint(lengthSize) });
    }
    out.push({ id, constructionMethod, dataReferenceIndex, baseOffset, extents });
  }
  return out;
}

function parseIref(r: ByteReader): HeifReference[] {
  const version = r.u8();
  r.skip(3);
  const out: HeifReference[] = [];
  for (const box of childBoxes(r)) {
    const e = bodyOf(r, box);
    const from = version === 0 ? e.u16() : e.u32();
    const count = e.u16();
    const to: number[] = [];
    for (let i = 0; i < count; i++) to.push(version === 0 ? e.u16() : e.u32());
    out.push({ type: box.type, from, to });
    if (out.length > MAX_ITEMS) throw malformed('Too many item references', box.start);
  }
  return out;
}

function parseIprp(r: ByteReader): Map<number, HeifPropertyLink[]> {
  const children = childBoxes(r);
  const ipco = children.find((b) => b.type === 'ipco');
  const byItem = new Map<number, HeifPropertyLink[]>();
  if (!ipco) return byItem;
  const ipcoReader = bodyOf(r, ipco);
  const props = childBoxes(ipcoReader).map((b) => parseProperty(b, bodyOf(ipcoReader, b)));
  for (const box of children) {
    if (box.type !== 'ipma') continue;
    const m = bodyOf(r, box);
    const version = m.u8();
    const flags = (m.u8() << 16) | m.u16();
    const entries = m.u32();
    if (entries > MAX_ITEMS) throw malformed(`ipma declares ${entries} entries`, box.start);
    for (let i = 0; i < entries; i++) {
      const id = version < 1 ? m.u16() : m.u32();
      const n = m.u8();
      const list = byItem.get(id) ?? [];
      for (let j = 0; j < n; j++) {
        let essential: boolean;
        let index: number;
        if (flags & 1) {
          const v = m.u16();
          essential = (v & 0x8000) !== 0;
          index = v & 0x7fff;
        } else {
          const v = m.u8();
          essential = (v & 0x80) !== 0;
          index = v & 0x7f;
        }
        if (index === 0) continue;
        const property = props[index - 1];
        if (!property) throw malformed(`ipma refers to property ${index}, ipco has ${props.length}`, box.start);
        list.push({ property, essential });
      }
      byItem.set(id, list);
    }
  }
  return byItem;
}

function parseProperty(box: Box, r: ByteReader): HeifProperty {
  try {
    switch (box.type) {
      case 'ispe':
        r.skip(4);
        return { type: 'ispe', width: r.u32(), height: r.u32() };
      case 'irot':
        return { type: 'irot', angle: r.u8() & 3 };
      case 'imir':
        return { type: 'imir', mode: r.u8() & 1 };
      case 'pixi': {
        r.skip(4);
        const n = r.u8();
        const bitsPerChannel: number[] = [];
        for (let i = 0; i < n; i++) bitsPerChannel.push(r.u8());
        return { type: 'pixi', bitsPerChannel };
      }
      case 'colr': {
        const colourType = r.fourcc();
        if (colourType === 'nclx') {
          const primaries = r.u16();
          const transfer = r.u16();
          const matrix = r.u16();
          return { type: 'colr', colourType, primaries, transfer, matrix, fullRange: (r.u8() & 0x80) !== 0 };
        }
        if (colourType === 'prof' || colourType === 'rICC') return { type: 'colr', colourType, icc: r.take(r.remaining) };
        return { type: 'other', boxType: 'colr' };
      }
      case 'hvcC': {
        const raw = r.bytes;
        r.need(23);
        return {
          type: 'hvcC',
          profileIdc: raw[1]! & 0x1f,
          levelIdc: raw[12]!,
          chromaFormat: raw[16]! & 3,
          bitDepthLuma: (raw[17]! & 7) + 8,
          bitDepthChroma: (raw[18]! & 7) + 8,
          nalLengthSize: (raw[21]! & 3) + 1,
          raw,
        };
      }
      case 'clap':
        return {
          type: 'clap',
          widthN: r.u32(),
          widthD: r.u32(),
          heightN: r.u32(),
          heightD: r.u32(),
          horizOffN: r.i32(),
          horizOffD: r.u32(),
          vertOffN: r.i32(),
          vertOffD: r.u32(),
        };
      case 'auxC':
        r.skip(4);
        return { type: 'auxC', auxType: r.cstring() };
      default:
        return { type: 'other', boxType: box.type };
    }
  } catch {
    // A damaged property we cannot read is kept as unknown; the item model stays usable.
    return { type: 'other', boxType: box.type };
  }
}

/** Properties of one item, in `ipma` order. */
export function itemProperties(heif: HeifFile, id: number): HeifPropertyLink[] {
  return heif.properties.get(id) ?? [];
}

/** The first property of `type` on an item. */
export function findProperty<T extends HeifProperty['type']>(heif: HeifFile, id: number, type: T): Extract<HeifProperty, { type: T }> | undefined {
  return itemProperties(heif, id).find((p) => p.property.type === type)?.property as Extract<HeifProperty, { type: T }> | undefined;
}

/** Items referencing `to` with a reference of `type` (e.g. `cdsc` metadata describing the primary). */
export function itemsReferencing(heif: HeifFile, type: string, to: number): number[] {
  return heif.references.filter((r) => r.type === type && r.to.includes(to)).map((r) => r.from);
}

/** Targets of `from`'s reference of `type` (e.g. a grid's `dimg` tiles, in order). */
export function referencedItems(heif: HeifFile, type: string, from: number): number[] {
  return heif.references.filter((r) => r.type === type && r.from === from).flatMap((r) => r.to);
}

/** Reads an item's bytes (all extents concatenated), at most `limit` bytes. */
export async function readItemData(ra: RandomAccess, heif: HeifFile, id: number, limit = MAX_METADATA_READ): Promise<Uint8Array> {
  const item = heif.items.get(id);
  if (!item) throw malformed(`HEIF item ${id} does not exist`, 0);
  if (item.dataReferenceIndex !== 0) throw malformed(`HEIF item ${id} lives in another file (data reference ${item.dataReferenceIndex})`, 0);
  let sourceStart: number;
  let sourceEnd: number;
  if (item.constructionMethod === 0) {
    sourceStart = 0;
    sourceEnd = ra.size;
  } else if (item.constructionMethod === 1) {
    if (!heif.idat) throw malformed(`HEIF item ${id} is stored in idat, but there is none`, 0);
    sourceStart = heif.idat.offset;
    sourceEnd = heif.idat.offset + heif.idat.length;
  } else {
    throw malformed(`HEIF item ${id} uses construction method ${item.constructionMethod}, which is not supported`, 0);
  }
  const ranges = item.extents.map((e) => {
    const start = sourceStart + e.offset;
    const end = e.length === 0 ? sourceEnd : start + e.length;
    if (start > sourceEnd || end > sourceEnd) throw malformed(`HEIF item ${id} extent (${e.offset}+${e.length}) runs past the end of its data`, start);
    return { start, end };
  });
  const total = ranges.reduce((n, r) => n + r.end - r.start, 0);
  if (total > limit) throw malformed(`HEIF item ${id} is ${total} bytes, more than the ${limit} allowed`, ranges[0]?.start ?? 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const range of ranges) {
    const bytes = await ra.read(range.start, range.end - range.start);
    if (bytes.byteLength < range.end - range.start) throw malformed(`HEIF item ${id} cut off by the end of the file`, range.start + bytes.byteLength);
    out.set(bytes, pos);
    pos += bytes.byteLength;
  }
  return out;
}

/** Grid layout of a `grid` item (rows × columns of tiles, output size), read from its payload. */
export async function readHeifGrid(ra: RandomAccess, heif: HeifFile, id: number): Promise<HeifGrid | undefined> {
  if (heif.items.get(id)?.type !== 'grid') return undefined;
  const data = await readItemData(ra, heif, id, 64);
  if (data.byteLength < 8 || data[0] !== 0) throw malformed(`HEIF grid item ${id} has an unsupported payload`, 0);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const wide = (data[1]! & 1) === 1;
  if (wide && data.byteLength < 12) throw malformed(`HEIF grid item ${id} payload cut off`, 0);
  return {
    rows: data[2]! + 1,
    columns: data[3]! + 1,
    outputWidth: wide ? dv.getUint32(4) : dv.getUint16(4),
    outputHeight: wide ? dv.getUint32(8) : dv.getUint16(6),
    tiles: referencedItems(heif, 'dimg', id),
  };
}

/** Metadata items (`cdsc`) describing the primary image; falls back to any item of the kind. */
function metadataItemFor(heif: HeifFile, match: (item: HeifItem) => boolean): HeifItem | undefined {
  const described = itemsReferencing(heif, 'cdsc', heif.primaryItemId)
    .map((id) => heif.items.get(id))
    .find((item): item is HeifItem => !!item && match(item));
  if (described) return described;
  // Files without cdsc links exist (older writers); then the first such item is the only candidate.
  const linked = new Set(heif.references.filter((r) => r.type === 'cdsc').map((r) => r.from));
  return [...heif.items.values()].find((item) => match(item) && !linked.has(item.id));
}

/**
 * The raw TIFF bytes (from `MM`/`II`) of the primary image's Exif item, or undefined when there
 * is none. Handles the 4-byte `exif_tiff_header_offset` prefix, with or without `Exif\0\0`.
 */
export async function readHeifExif(ra: RandomAccess, heif?: HeifFile): Promise<Uint8Array | undefined> {
  const h = heif ?? (await readHeif(ra));
  const item = metadataItemFor(h, (i) => i.type === 'Exif');
  if (!item) return undefined;
  const data = await readItemData(ra, h, item.id);
  return tiffFromExifItem(data);
}

/** Locates the TIFF header inside an Exif item payload (§1.9: never assume +10). */
export function tiffFromExifItem(data: Uint8Array): Uint8Array | undefined {
  if (data.byteLength >= 4) {
    const offset = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    const at = 4 + offset;
    if (at + 4 <= data.byteLength && isTiffHeader(data, at)) return data.subarray(at);
  }
  const exif = indexOfAscii(data.subarray(0, 64), 'Exif\0\0');
  if (exif !== -1 && isTiffHeader(data, exif + 6)) return data.subarray(exif + 6);
  return undefined;
}

export function isTiffHeader(bytes: Uint8Array, at = 0): boolean {
  return startsWithAscii(bytes, 'MM\0*', at) || startsWithAscii(bytes, 'II*\0', at);
}

/** The primary image's XMP packet as text, or undefined. */
export async function readHeifXmp(ra: RandomAccess, heif?: HeifFile): Promise<string | undefined> {
  const h = heif ?? (await readHeif(ra));
  const item = metadataItemFor(h, (i) => i.type === 'mime' && (i.contentType ?? '').toLowerCase() === 'application/rdf+xml');
  if (!item) return undefined;
  return new TextDecoder('utf-8').decode(await readItemData(ra, h, item.id));
}

/** The primary image's ICC profile (from its `colr`, else from its first `dimg` input, as on iOS 12). */
export async function readHeifIcc(ra: RandomAccess, heif?: HeifFile): Promise<Uint8Array | undefined> {
  const h = heif ?? (await readHeif(ra));
  const icc = (id: number) => {
    const colr = itemProperties(h, id).find((p) => p.property.type === 'colr' && p.property.colourType !== 'nclx')?.property;
    return colr && colr.type === 'colr' && colr.colourType !== 'nclx' ? colr.icc : undefined;
  };
  const own = icc(h.primaryItemId);
  if (own) return own;
  const firstInput = referencedItems(h, 'dimg', h.primaryItemId)[0];
  return firstInput === undefined ? undefined : icc(firstInput);
}

/** Size and orientation of the primary image without decoding it. */
export interface HeifImageInfo {
  /** `ispe`: size before transforms. */
  width: number;
  height: number;
  /** Size after `irot` (what a viewer shows, ignoring `clap`). */
  displayWidth: number;
  displayHeight: number;
  /** Anticlockwise quarter turns. */
  rotation: number;
  mirror: number | undefined;
}

export function heifImageInfo(heif: HeifFile, id = heif.primaryItemId): HeifImageInfo | undefined {
  const ispe = findProperty(heif, id, 'ispe');
  if (!ispe) return undefined;
  const rotation = findProperty(heif, id, 'irot')?.angle ?? 0;
  const swap = rotation % 2 === 1;
  return {
    width: ispe.width,
    height: ispe.height,
    displayWidth: swap ? ispe.height : ispe.width,
    displayHeight: swap ? ispe.width : ispe.height,
    rotation,
    mirror: findProperty(heif, id, 'imir')?.mode,
  };
}

