import { readFileSync } from 'node:fs';
import { findProperty, type HeifFile, type HeifProperty, randomAccessFromBytes, readHeif, readHeifGrid, referencedItems, withFile } from '@keepsake/media';
import { describe, expect, it } from 'vitest';
import { annexBStream, type HevcPlan, HevcStreamError, parameterSets, planHevcDecode, splitNalUnits } from './hevc-plan.js';
import { buildSps, type SpsFields } from './sps-writer.test-helper.js';
import { FIXTURES } from './test-helpers.test-helper.js';

const IMG_2682 = `${FIXTURES}/heic/IMG_2682.heic`;
const ISSUE_263 = `${FIXTURES}/heic/Issue_263_dotnet.heic`;
const SMALL = `${FIXTURES}/motion-photo/sample_MP.heic`;

async function planOf(path: string, edit?: (heif: HeifFile) => void): Promise<{ heif: HeifFile; plan: HevcPlan | { unsupported: string } }> {
  return withFile(path, async (ra) => {
    const heif = await readHeif(ra);
    edit?.(heif);
    return { heif, plan: planHevcDecode(heif, await readHeifGrid(ra, heif, heif.primaryItemId)) };
  });
}

function supported(plan: HevcPlan | { unsupported: string }): HevcPlan {
  if ('unsupported' in plan) throw new Error(plan.unsupported);
  return plan;
}

type HvcC = Extract<HeifProperty, { type: 'hvcC' }>;

/** `hvcC` with its SPS replaced by one written from `fields` (VPS and PPS kept). */
function withSps(hvcC: HvcC, fields: SpsFields): HvcC {
  const units = parameterSets(hvcC.raw).map((nal) => (((nal[0]! >> 1) & 0x3f) === 33 ? buildSps(fields) : nal));
  const bytes = [...hvcC.raw.subarray(0, 22), units.length];
  for (const nal of units) bytes.push(0x80 | ((nal[0]! >> 1) & 0x3f), 0, 1, nal.byteLength >> 8, nal.byteLength & 0xff, ...nal);
  return { ...hvcC, raw: Uint8Array.from(bytes) };
}

/** Replaces one property of `id` in place (a test-only edit of the parsed model). */
function editProperty(heif: HeifFile, id: number, type: HeifProperty['type'], change: (p: HeifProperty) => HeifProperty): void {
  const links = heif.properties.get(id) ?? [];
  heif.properties.set(
    id,
    links.map((l) => (l.property.type === type ? { ...l, property: change(l.property) } : l)),
  );
}

describe('planHevcDecode', () => {
  it('plans an iPhone grid: 8×6 tiles of 512×512 cropped to 4032×3024 (its irot 0 is no transform)', async () => {
    const plan = supported((await planOf(IMG_2682)).plan);
    expect(plan).toMatchObject({ columns: 8, rows: 6, tileWidth: 512, tileHeight: 512, width: 4032, height: 3024, transforms: [] });
    expect(plan.tiles).toHaveLength(48);
  });

  it('keeps the primary image transforms in file order (Issue_263: irot 3)', async () => {
    expect(supported((await planOf(ISSUE_263)).plan).transforms).toEqual([{ type: 'irot', angle: 3 }]);
  });

  it('plans a single coded image as one tile', async () => {
    expect(supported((await planOf(SMALL)).plan)).toMatchObject({ tiles: [1], columns: 1, rows: 1, width: 1080, height: 1920 });
  });

  it('hands 10-bit, 4:4:4, clap, mixed tile sizes and unknown essential properties to another decoder', async () => {
    const tenBit = await planOf(IMG_2682, (heif) => {
      const tile = referencedItems(heif, 'dimg', heif.primaryItemId)[0]!;
      editProperty(heif, tile, 'hvcC', (p) => ({ ...(p as Extract<HeifProperty, { type: 'hvcC' }>), bitDepthLuma: 10 }));
    });
    expect(tenBit.plan).toEqual({ unsupported: '10-bit samples' });
    const chroma444 = await planOf(SMALL, (heif) => editProperty(heif, 1, 'hvcC', (p) => ({ ...(p as Extract<HeifProperty, { type: 'hvcC' }>), chromaFormat: 3 })));
    expect(chroma444.plan).toEqual({ unsupported: 'chroma format 3 is not 4:2:0' });
    const clap = await planOf(SMALL, (heif) => {
      heif.properties.get(1)!.push({ essential: true, property: { type: 'clap', widthN: 100, widthD: 1, heightN: 100, heightD: 1, horizOffN: 0, horizOffD: 1, vertOffN: 0, vertOffD: 1 } });
    });
    expect(clap.plan).toEqual({ unsupported: 'a clean-aperture crop (clap)' });
    const mixed = await planOf(IMG_2682, (heif) => {
      const last = referencedItems(heif, 'dimg', heif.primaryItemId).at(-1)!;
      editProperty(heif, last, 'ispe', () => ({ type: 'ispe', width: 256, height: 512 }));
    });
    expect(mixed.plan).toEqual({ unsupported: 'tiles of different sizes' });
    const essential = await planOf(SMALL, (heif) => heif.properties.get(1)!.push({ essential: true, property: { type: 'other', boxType: 'lsel' } }));
    expect(essential.plan).toEqual({ unsupported: "an essential 'lsel' property" });
  });

  // ffmpeg's tile filter places frames by their decoded size; a tile that decodes to another size
  // makes ffmpeg rebuild its filters and write a part-filled grid, black elsewhere, exiting 0.
  it('hands a grid whose tiles do not all share one SPS to another decoder', async () => {
    const small = await withFile(SMALL, (ra) => readHeif(ra));
    const otherHvcC = findProperty(small, 1, 'hvcC')!;
    const mixed = await planOf(IMG_2682, (heif) => {
      const last = referencedItems(heif, 'dimg', heif.primaryItemId).at(-1)!;
      editProperty(heif, last, 'hvcC', () => otherHvcC);
    });
    expect(mixed.plan).toEqual({ unsupported: 'tiles with different sequence parameter sets' });
    const twoSps = await planOf(SMALL, (heif) =>
      editProperty(heif, 1, 'hvcC', (p) => {
        const hvcC = p as HvcC;
        const units = parameterSets(hvcC.raw);
        const bytes = [...hvcC.raw.subarray(0, 22), units.length + 1];
        for (const nal of [...units, units[1]!]) bytes.push(0x80 | ((nal[0]! >> 1) & 0x3f), 0, 1, nal.byteLength >> 8, nal.byteLength & 0xff, ...nal);
        return { ...hvcC, raw: Uint8Array.from(bytes) };
      }),
    );
    expect(twoSps.plan).toEqual({ unsupported: 'item 1 has 2 sequence parameter sets' });
  });

  it('checks the SPS against the item: decoded size = ispe, 8-bit 4:2:0, no left or top window', async () => {
    const bigger = await planOf(IMG_2682, (heif) => {
      for (const tile of referencedItems(heif, 'dimg', heif.primaryItemId)) editProperty(heif, tile, 'ispe', () => ({ type: 'ispe', width: 1024, height: 1024 }));
    });
    expect(bigger.plan).toEqual({ unsupported: 'tiles decode to 512×512, not their 1024×1024 (ispe)' });
    const edit = (fields: SpsFields) => planOf(SMALL, (heif) => editProperty(heif, 1, 'hvcC', (p) => withSps(p as HvcC, fields)));
    // 1096 coded columns less a left window of 8 chroma samples: 1080, as the ispe says.
    expect((await edit({ width: 1096, height: 1920, window: [8, 0, 0, 0] })).plan).toEqual({ unsupported: 'a conformance window on the left or top' });
    expect((await edit({ width: 1080, height: 1920, bitDepthLuma: 10, bitDepthChroma: 10 })).plan).toEqual({ unsupported: 'the sequence parameter set is not 8-bit 4:2:0' });
    expect((await edit({ width: 1080, height: 1920, chromaFormat: 2 })).plan).toEqual({ unsupported: 'the sequence parameter set is not 8-bit 4:2:0' });
    expect((await edit({ width: 1080, height: 1928, window: [0, 0, 0, 4] })).plan).toMatchObject({ tiles: [1], width: 1080, height: 1920 });
  });

  it('limits the canvas of whole tiles, not only the picture, to MAX_PIXELS', async () => {
    const huge = await planOf(IMG_2682, (heif) => {
      for (const tile of referencedItems(heif, 'dimg', heif.primaryItemId)) {
        editProperty(heif, tile, 'ispe', () => ({ type: 'ispe', width: 4096, height: 4096 }));
        editProperty(heif, tile, 'hvcC', (p) => withSps(p as HvcC, { width: 4096, height: 4096 }));
      }
    });
    // The picture is still 4032×3024; the 8×6 tiles would be 805 MP.
    expect(huge.plan).toEqual({ unsupported: '8×6 tiles of 4096×4096 are larger than 200 MP' });
  });
});

describe('Annex-B stream', () => {
  it('starts with VPS, SPS, PPS and carries every tile once, each NAL after a start code', async () => {
    const { heif, plan } = await planOf(IMG_2682);
    const stream = await withFile(IMG_2682, (ra) => annexBStream(ra, heif, supported(plan).tiles));
    const types: number[] = [];
    for (let i = 0; i + 4 < stream.length; i++) {
      if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 0 && stream[i + 3] === 1) types.push((stream[i + 4]! >> 1) & 0x3f);
    }
    expect(types.slice(0, 3)).toEqual([32, 33, 34]);
    // One parameter-set group (every tile shares the hvcC), then 48 coded slices.
    expect(types.filter((t) => t < 32)).toHaveLength(48);
    expect(types.filter((t) => t >= 32 && t <= 34)).toHaveLength(3);
    const firstTile = supported(plan).tiles[0]!;
    expect(parameterSets(findProperty(heif, firstTile, 'hvcC')!.raw)).toHaveLength(3);
  });

  it('refuses a tile that is not an IDR picture or carries its own parameter sets (libheif decodes each tile on its own)', async () => {
    const bytes = readFileSync(SMALL);
    const heif = await readHeif(randomAccessFromBytes(bytes));
    // The single coded item starts at byte 1650 with a 4-byte NAL length; its IDR_N_LP header follows.
    expect((bytes[1654]! >> 1) & 0x3f).toBe(20);
    const withType = (type: number) => {
      const edited = Uint8Array.from(bytes);
      edited[1654] = (type << 1) | (bytes[1654]! & 0x81);
      return randomAccessFromBytes(edited);
    };
    await expect(annexBStream(withType(20), heif, [1])).resolves.toBeInstanceOf(Uint8Array);
    await expect(annexBStream(withType(21), heif, [1])).rejects.toThrow(/item 1 is not an IDR picture \(NAL unit type 21\)/);
    await expect(annexBStream(withType(1), heif, [1])).rejects.toThrow(HevcStreamError);
    await expect(annexBStream(withType(33), heif, [1])).rejects.toThrow(/carries its own parameter sets/);
  });

  it('rejects NAL lengths that run past the item', () => {
    expect(splitNalUnits(Uint8Array.of(0, 0, 0, 2, 0x26, 0x01), 4, 7)).toHaveLength(1);
    expect(() => splitNalUnits(Uint8Array.of(0, 0, 0, 9, 0x26, 0x01), 4, 7)).toThrow(HevcStreamError);
    expect(() => splitNalUnits(Uint8Array.of(0, 0), 4, 7)).toThrow(/cut off/);
    expect(() => splitNalUnits(new Uint8Array(0), 4, 7)).toThrow(/no coded data/);
  });
});
