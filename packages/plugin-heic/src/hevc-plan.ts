/**
 * What the ffmpeg decoder needs to know about a HEIC's primary image, read from the item model
 * alone: its coded HEVC tiles (a grid's, or the single image's), the grid layout, the output size
 * and the display transforms (irot/imir) in the order the file lists them. Images the ffmpeg path
 * does not handle exactly (10-bit, monochrome, 4:2:2/4:4:4, clean-aperture crops, derived `iden`
 * images, unknown essential properties) get a reason instead, and another decoder takes them.
 *
 * ffmpeg decodes the tiles as one stream and its `tile` filter places frames by their decoded
 * size; a frame of another size or format makes ffmpeg rebuild the filters and emit a part-filled
 * grid, black where tiles are missing, with exit code 0. So every tile must share one SPS whose
 * decoded size is the tiles' `ispe`, and each must be a picture of its own (an IDR, carrying no
 * parameter sets) — libheif decodes each tile on its own.
 */
import { findProperty, type HeifFile, type HeifGrid, type HeifProperty, itemProperties, type RandomAccess, readItemData } from '@keepsake/media';
import { parseSps } from './hevc-vui.js';

export type DisplayTransform = { type: 'irot'; angle: number } | { type: 'imir'; mode: number };

export interface HevcPlan {
  /** Coded tile items in row-major order (one for a non-grid image). */
  tiles: number[];
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  /** Size of the assembled image before transforms. */
  width: number;
  height: number;
  transforms: DisplayTransform[];
  /** The first tile's sequence parameter set NAL unit (its VUI carries a colour signal). */
  sps: Uint8Array | undefined;
}

/** Largest image the ffmpeg path takes (its RGB buffer is 3 bytes per pixel): 200 MP. */
export const MAX_PIXELS = 200_000_000;

/** Limit on one tile's coded bytes; a 12 MP iPhone tile is ~20 KB, a whole 48 MP image ~10 MB. */
const MAX_TILE_BYTES = 256 << 20;

/** Properties that do not change how the coded pixels map to the output image. */
const NEUTRAL = new Set<HeifProperty['type']>(['ispe', 'colr', 'pixi', 'hvcC', 'auxC']);

type HvcC = Extract<HeifProperty, { type: 'hvcC' }>;

function unsupported(reason: string): { unsupported: string } {
  return { unsupported: reason };
}

/**
 * The tile's hvcC when the tile is plain 8-bit 4:2:0 HEVC with no transforms of its own (a
 * non-grid primary image is its own tile; its irot/imir were taken as the image's transforms).
 */
function codedTile(heif: HeifFile, id: number, isPrimary: boolean): HvcC | string {
  const item = heif.items.get(id);
  if (item?.type !== 'hvc1') return `item ${id} is '${item?.type ?? 'missing'}', not HEVC`;
  let hvcC: HvcC | undefined;
  for (const { property, essential } of itemProperties(heif, id)) {
    if (property.type === 'hvcC') hvcC = property;
    else if (property.type === 'other' && essential) return `item ${id} has an essential '${property.boxType}' property`;
    else if (isPrimary && (property.type === 'irot' || property.type === 'imir')) continue;
    else if (!NEUTRAL.has(property.type) && property.type !== 'other') return `item ${id} carries its own '${property.type}'`;
  }
  if (!hvcC) return `item ${id} has no hvcC`;
  if (hvcC.chromaFormat !== 1) return `chroma format ${hvcC.chromaFormat} is not 4:2:0`;
  if (hvcC.bitDepthLuma !== 8 || hvcC.bitDepthChroma !== 8) return `${hvcC.bitDepthLuma}-bit samples`;
  return hvcC;
}

/**
 * Plans the decode of the primary image. `grid` is the primary item's grid layout when it is a
 * grid (from readHeifGrid). Returns a reason when the ffmpeg path should not take the image.
 */
export function planHevcDecode(heif: HeifFile, grid: HeifGrid | undefined): HevcPlan | { unsupported: string } {
  const primary = heif.items.get(heif.primaryItemId);
  if (!primary) return unsupported('no primary image');
  if (primary.type !== 'grid' && primary.type !== 'hvc1') return unsupported(`the primary image is a '${primary.type}' item`);
  if (primary.type === 'grid' && !grid) return unsupported('the grid layout is unreadable');

  const transforms: DisplayTransform[] = [];
  for (const { property, essential } of itemProperties(heif, primary.id)) {
    if (property.type === 'irot') {
      if (property.angle & 3) transforms.push({ type: 'irot', angle: property.angle & 3 });
    }
    else if (property.type === 'imir') transforms.push({ type: 'imir', mode: property.mode });
    else if (property.type === 'clap') return unsupported('a clean-aperture crop (clap)');
    else if (property.type === 'other' && essential) return unsupported(`an essential '${property.boxType}' property`);
  }

  const tiles = grid ? grid.tiles : [primary.id];
  if (tiles.length === 0) return unsupported('no coded tiles');
  let tileWidth = 0;
  let tileHeight = 0;
  let sps: Uint8Array | undefined;
  for (const id of tiles) {
    const coded = codedTile(heif, id, id === primary.id);
    if (typeof coded === 'string') return unsupported(coded);
    const ispe = findProperty(heif, id, 'ispe');
    if (!ispe || ispe.width === 0 || ispe.height === 0) return unsupported(`item ${id} has no size (ispe)`);
    if (tileWidth === 0) [tileWidth, tileHeight] = [ispe.width, ispe.height];
    else if (ispe.width !== tileWidth || ispe.height !== tileHeight) return unsupported('tiles of different sizes');
    let spsUnits: Uint8Array[];
    try {
      spsUnits = parameterSets(coded.raw).filter((nal) => ((nal[0]! >> 1) & 0x3f) === 33);
    } catch (err) {
      if (!(err instanceof HevcStreamError)) throw err;
      return unsupported(err.message);
    }
    if (spsUnits.length !== 1) return unsupported(`item ${id} has ${spsUnits.length} sequence parameter sets`);
    if (!sps) sps = spsUnits[0];
    else if (!sameBytes(sps, spsUnits[0]!)) return unsupported('tiles with different sequence parameter sets');
  }
  const info = sps ? parseSps(sps) : undefined;
  if (!info) return unsupported('the sequence parameter set cannot be read');
  if (info.chromaFormat !== 1 || info.separateColourPlanes || info.bitDepthLuma !== 8 || info.bitDepthChroma !== 8) return unsupported('the sequence parameter set is not 8-bit 4:2:0');
  if (info.cropLeft !== 0 || info.cropTop !== 0) return unsupported('a conformance window on the left or top');
  if (info.width !== tileWidth || info.height !== tileHeight) return unsupported(`tiles decode to ${info.width}×${info.height}, not their ${tileWidth}×${tileHeight} (ispe)`);

  const columns = grid?.columns ?? 1;
  const rows = grid?.rows ?? 1;
  const width = grid?.outputWidth ?? tileWidth;
  const height = grid?.outputHeight ?? tileHeight;
  if (tiles.length !== columns * rows) return unsupported(`the grid lists ${tiles.length} tiles for ${columns}×${rows}`);
  if (width === 0 || height === 0 || width > columns * tileWidth || height > rows * tileHeight) return unsupported(`a ${width}×${height} grid does not fit its ${columns}×${rows} tiles`);
  // The tiles' canvas, not only the picture: ffmpeg holds it whole.
  if (columns * tileWidth * rows * tileHeight > MAX_PIXELS) return unsupported(`${columns}×${rows} tiles of ${tileWidth}×${tileHeight} are larger than ${MAX_PIXELS / 1e6} MP`);
  return { tiles, tileWidth, tileHeight, columns, rows, width, height, transforms, sps };
}

/** Thrown when a tile's coded bytes are not well-formed length-prefixed NAL units. */
export class HevcStreamError extends Error {
  override readonly name = 'HevcStreamError';
}

const START_CODE = Uint8Array.of(0, 0, 0, 1);
const IDR_W_RADL = 19;
const IDR_N_LP = 20;

/** VPS/SPS/PPS (and SEI) NAL units of an HEVCDecoderConfigurationRecord. */
export function parameterSets(hvcC: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (hvcC.byteLength < 23) throw new HevcStreamError('hvcC is shorter than its fixed header');
  let p = 22;
  const arrays = hvcC[p++]!;
  for (let a = 0; a < arrays; a++) {
    if (p + 3 > hvcC.byteLength) throw new HevcStreamError('hvcC NAL array cut off');
    const count = (hvcC[p + 1]! << 8) | hvcC[p + 2]!;
    p += 3;
    for (let i = 0; i < count; i++) {
      if (p + 2 > hvcC.byteLength) throw new HevcStreamError('hvcC NAL unit cut off');
      const length = (hvcC[p]! << 8) | hvcC[p + 1]!;
      p += 2;
      if (p + length > hvcC.byteLength) throw new HevcStreamError('hvcC NAL unit runs past its end');
      out.push(hvcC.subarray(p, p + length));
      p += length;
    }
  }
  return out;
}

/** Length-prefixed NAL units (`nalLengthSize` bytes each prefix) → the units themselves. */
export function splitNalUnits(data: Uint8Array, nalLengthSize: number, itemId: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < data.byteLength) {
    if (p + nalLengthSize > data.byteLength) throw new HevcStreamError(`item ${itemId}: NAL length cut off at byte ${p}`);
    let length = 0;
    for (let k = 0; k < nalLengthSize; k++) length = length * 256 + data[p + k]!;
    p += nalLengthSize;
    if (length === 0 || p + length > data.byteLength) throw new HevcStreamError(`item ${itemId}: a ${length}-byte NAL unit at byte ${p} does not fit the item's ${data.byteLength} bytes`);
    out.push(data.subarray(p, p + length));
    p += length;
  }
  if (out.length === 0) throw new HevcStreamError(`item ${itemId} has no coded data`);
  return out;
}

/**
 * Tiles as one Annex-B elementary stream (start codes, parameter sets before the first tile and
 * again whenever a tile's hvcC differs), which ffmpeg's raw `hevc` demuxer reads: one picture per
 * tile, in the order given (the grid's, or the transformed grid's — see grid-layout.ts).
 */
export async function annexBStream(ra: RandomAccess, heif: HeifFile, tiles: readonly number[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let previous: Uint8Array | undefined;
  for (const id of tiles) {
    const hvcC = findProperty(heif, id, 'hvcC');
    if (!hvcC) throw new HevcStreamError(`item ${id} has no hvcC`);
    if (!previous || !sameBytes(previous, hvcC.raw)) {
      for (const unit of parameterSets(hvcC.raw)) parts.push(START_CODE, unit);
      previous = hvcC.raw;
    }
    for (const unit of splitNalUnits(await readItemData(ra, heif, id, MAX_TILE_BYTES), hvcC.nalLengthSize, id)) {
      const type = (unit[0]! >> 1) & 0x3f;
      // A tile's own parameter sets would stay in force for the tiles after it.
      if (type >= 32 && type <= 34) throw new HevcStreamError(`item ${id} carries its own parameter sets`);
      // Any other picture type may refer to, or be output in another order than, the tiles before it.
      if (type < 32 && type !== IDR_W_RADL && type !== IDR_N_LP) throw new HevcStreamError(`item ${id} is not an IDR picture (NAL unit type ${type})`);
      parts.push(START_CODE, unit);
    }
  }
  return Buffer.concat(parts);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
