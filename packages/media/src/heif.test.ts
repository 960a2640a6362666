import { describe, expect, it } from 'vitest';
import { withFixture } from './fixtures.test-helper.js';
import { findProperty, heifImageInfo, itemsReferencing, readHeif, readHeifExif, readHeifGrid, readHeifIcc, readHeifXmp, tiffFromExifItem } from './heif.js';
import { randomAccessFromBytes } from './random-access.js';
import { readExif } from './tiff.js';

describe('readHeif on real files', () => {
  it('IMG_2927.HEIC (iPhone 11 Pro): grid primary, tiles, properties, Exif/XMP/ICC', async () => {
    await withFixture('heic/IMG_2927.HEIC', async (ra) => {
      const h = await readHeif(ra);
      expect(h.fileType?.majorBrand).toBe('heic');
      expect(h.fileType?.compatibleBrands).toEqual(['mif1', 'miaf', 'MiHB', 'heic']);
      expect(h.primaryItemId).toBe(49);
      expect(h.items.get(49)).toMatchObject({ type: 'grid', hidden: false, constructionMethod: 1 });
      expect(h.items.get(1)).toMatchObject({ type: 'hvc1', hidden: true });
      expect(findProperty(h, 49, 'ispe')).toEqual({ type: 'ispe', width: 3024, height: 4032 });
      expect(findProperty(h, 1, 'hvcC')).toMatchObject({ profileIdc: expect.any(Number), levelIdc: 90, chromaFormat: 1, bitDepthLuma: 8, nalLengthSize: 4 });
      expect(findProperty(h, 49, 'pixi')?.bitsPerChannel).toEqual([8, 8, 8]);
      const grid = await readHeifGrid(ra, h, 49);
      expect(grid).toMatchObject({ rows: 8, columns: 6, outputWidth: 3024, outputHeight: 4032 });
      expect(grid?.tiles).toHaveLength(48);
      expect(grid?.tiles[0]).toBe(1);
      const tiff = await readHeifExif(ra, h);
      expect(String.fromCharCode(...tiff!.subarray(0, 2))).toBe('MM');
      expect(readExif(tiff!).dateTimeOriginal).toBe('2020:05:04 18:39:11');
      expect(await readHeifXmp(ra, h)).toMatch(/^<\?xpacket begin=/);
      const icc = await readHeifIcc(ra, h);
      expect(icc?.byteLength).toBe(548);
      expect(String.fromCharCode(...icc!.subarray(36, 40))).toBe('acsp');
    });
  });

  it('Issue_263 (iPhone XR): irot 3 gives a portrait display size', async () => {
    await withFixture('heic/Issue_263_dotnet.heic', async (ra) => {
      const h = await readHeif(ra);
      expect(heifImageInfo(h)).toMatchObject({ width: 4032, height: 3024, rotation: 3, displayWidth: 3024, displayHeight: 4032 });
      expect(h.properties.get(49)?.find((p) => p.property.type === 'irot')?.essential).toBe(true);
    });
  });

  it('IMG_2682 (iOS 12): ICC comes from the first tile when the grid has no colr', async () => {
    await withFixture('heic/IMG_2682.heic', async (ra) => {
      const h = await readHeif(ra);
      expect(findProperty(h, h.primaryItemId, 'colr')).toBeUndefined();
      expect((await readHeifIcc(ra, h))?.byteLength).toBe(548);
      expect(itemsReferencing(h, 'thmb', 49)).toEqual([50]);
    });
  });

  it('sample_MP.heic (Google): iloc v0 with base offsets', async () => {
    await withFixture('motion-photo/sample_MP.heic', async (ra) => {
      const h = await readHeif(ra);
      expect(h.primaryItemId).toBe(1);
      const exif = h.items.get(2);
      expect(exif).toMatchObject({ type: 'Exif', baseOffset: 28723 });
      expect(exif?.extents).toEqual([{ offset: 28723, length: 130 }]);
      expect(readExif((await readHeifExif(ra, h))!).dateTimeOriginal).toBe('2020:10:21 12:26:18');
      expect(h.topLevel.map((b) => b.type)).toContain('mpvd');
    });
  });

  it('spatial_photo.heic: Exif of the primary (left) image through cdsc', async () => {
    await withFixture('edge-cases/spatial_photo.heic', async (ra) => {
      const h = await readHeif(ra);
      expect(h.primaryItemId).toBe(26);
      expect(itemsReferencing(h, 'cdsc', 26).sort()).toEqual([54, 56]);
      expect(readExif((await readHeifExif(ra, h))!).lensModel).toBe('Apple Vision Pro Left Main Camera 2.16mm f/2.0');
    });
  });

  it('exif-at-eof.heic: Exif item in a trailing mdat with offset 0 and no Exif\\0\\0', async () => {
    await withFixture('edge-cases/exif-at-eof.heic', async (ra) => {
      const h = await readHeif(ra);
      const item = [...h.items.values()].find((i) => i.type === 'Exif')!;
      expect(item.extents[0]!.offset).toBe(717309);
      const tiff = await readHeifExif(ra, h);
      expect(String.fromCharCode(...tiff!.subarray(0, 2))).toBe('II');
      expect(readExif(tiff!).apple?.contentIdentifier).toBe('1745E022-9712-43C7-B024-F308EC6413CB');
    });
  });

  it.each([
    ['edge-cases/oom_large_box.heic'],
    ['edge-cases/truncated.heic'],
    ['edge-cases/corrupted.heic'],
    ['edge-cases/IllegalArgumentException.HeifReader.processBoxes.heif'],
  ])('%s fails with MEDIA_MALFORMED naming the offset', async (rel) => {
    await withFixture(rel, async (ra) => {
      const err = await readHeif(ra).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'MEDIA_MALFORMED', classification: 'permanent' });
      expect((err as Error).message).toMatch(/at byte \d+/);
    });
  });
});

/** Builds a box: u32 size + type + payload. */
function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const len = 8 + parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(len);
  new DataView(out.buffer).setUint32(0, len);
  out.set(new TextEncoder().encode(type), 4);
  let pos = 8;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}
const bytes = (...v: number[]) => new Uint8Array(v);
const ftyp = box('ftyp', new TextEncoder().encode('heic'), bytes(0, 0, 0, 0), new TextEncoder().encode('mif1heic'));

describe('readHeif on hostile input', () => {
  it('rejects a child box claiming more than its parent without allocating it', async () => {
    const hostile = box('meta', bytes(0, 0, 0, 0), bytes(0x7f, 0xff, 0xff, 0xff), new TextEncoder().encode('iloc'), bytes(0, 0, 0, 0));
    const file = new Uint8Array([...ftyp, ...hostile]);
    await expect(readHeif(randomAccessFromBytes(file))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED', message: expect.stringContaining(`at byte ${ftyp.byteLength + 12}`) });
  });

  it('rejects a box smaller than its own header (would loop forever if accepted)', async () => {
    const file = new Uint8Array([...ftyp, 0, 0, 0, 4, ...new TextEncoder().encode('free'), 0, 0, 0, 0]);
    await expect(readHeif(randomAccessFromBytes(file))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED', message: expect.stringContaining(`at byte ${ftyp.byteLength}`) });
  });

  it('rejects an iloc extent count larger than the box can hold', async () => {
    const pitm = box('pitm', bytes(0, 0, 0, 0, 0, 1));
    // v1, offset/length size 4, base 0; 1 item: id 1, cm 0, dref 0, extent_count 0xffff
    const iloc = box('iloc', bytes(1, 0, 0, 0, 0x44, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff));
    const meta = box('meta', bytes(0, 0, 0, 0), pitm, iloc);
    await expect(readHeif(randomAccessFromBytes(new Uint8Array([...ftyp, ...meta])))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
  });
});

describe('tiffFromExifItem', () => {
  it('follows the offset header, and falls back to scanning for Exif\\0\\0', () => {
    const tiff = [0x4d, 0x4d, 0, 0x2a];
    expect(tiffFromExifItem(bytes(0, 0, 0, 6, ...new TextEncoder().encode('Exif\0\0'), ...tiff))?.[0]).toBe(0x4d);
    expect(tiffFromExifItem(bytes(0, 0, 0, 0, ...tiff))?.byteLength).toBe(4);
    expect(tiffFromExifItem(bytes(0, 0, 0, 99, ...new TextEncoder().encode('Exif\0\0'), ...tiff))?.byteLength).toBe(4);
    expect(tiffFromExifItem(bytes(0, 0, 0, 0, 1, 2, 3, 4))).toBeUndefined();
  });
});
