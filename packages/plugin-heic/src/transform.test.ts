import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKeepsakeError, readFileStream, silentLogger } from '@keepsake/core';
import { findProperty, readHeif, withFile } from '@keepsake/media';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { addImir } from './heif-edit.test-helper.js';
import { ConversionPool } from './pool.js';
import {
  assetOf,
  context,
  exiftool,
  FIXTURES,
  fileResource,
  HAS_EXIFTOOL,
  HAS_FFMPEG,
  HAS_HEIF_CONVERT,
  HAS_HEIF_ENC,
  heifConvertReference,
  psnr,
  readAll,
} from './test-helpers.test-helper.js';
import { createHeicToJpegTransform, jpegName } from './transform.js';

const ISSUE_263 = `${FIXTURES}/heic/Issue_263_dotnet.heic`; // grid 6×8, irot 3 + Orientation 6, GPS
const IMG_2682 = `${FIXTURES}/heic/IMG_2682.heic`; // grid, iOS 12, GPS, no XMP
const IMG_2927 = `${FIXTURES}/heic/IMG_2927.HEIC`; // portrait pixels, Orientation 1, OffsetTimeOriginal
const SPATIAL = `${FIXTURES}/edge-cases/spatial_photo.heic`; // two grid images, the first is primary
const SMALL = `${FIXTURES}/motion-photo/sample_MP.heic`; // 1080×1920, 57 KB: quick to convert

let dir: string;
let pool: ConversionPool;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keepsake-heic-'));
  pool = new ConversionPool(2);
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

const make = (options: Parameters<typeof createHeicToJpegTransform>[0]) => createHeicToJpegTransform(options, { logger: silentLogger, pool });

/**
 * Converts `input` with the transform and writes the JPEG next to the reference output. `expected`
 * is the decoder that must have made it — ffmpeg and native hand images over silently otherwise.
 */
async function convert(input: string, decoder: 'wasm' | 'native' | 'ffmpeg', name: string, expected: string = decoder): Promise<string> {
  let used: unknown;
  const logger = {
    ...silentLogger,
    debug: (message: string, fields?: Record<string, unknown>) => {
      if (message.startsWith('heic-to-jpeg: converted')) used = fields?.decoder;
    },
  };
  const t = createHeicToJpegTransform({ decoder }, { logger, pool });
  const asset = await t.apply(assetOf(name, fileResource(input)), context(join(dir, `run-${name}`)));
  const jpeg = asset.resources.find((r) => r.role === 'derived');
  if (!jpeg) throw new Error('no derived resource');
  const bytes = await readAll(jpeg.open());
  expect(jpeg.size).toBe(bytes.length);
  expect(used).toBe(expected);
  const path = join(dir, `${name}.jpg`);
  writeFileSync(path, bytes);
  return path;
}

describe('naming and version', () => {
  it('names the JPEG after the HEIC, keeping the extension case', () => {
    expect(jpegName('IMG_0001.HEIC')).toBe('IMG_0001.JPG');
    expect(jpegName('photo.heic')).toBe('photo.jpg');
    expect(jpegName('IMG_E0001.HEIF')).toBe('IMG_E0001.JPG');
  });

  it('puts every output-changing option into the version', () => {
    const a = make({});
    expect(a.version).toContain('quality=92');
    expect(a.version).not.toBe(make({ quality: 80 }).version);
    expect(a.version).not.toBe(make({ keep: 'converted' }).version);
    expect(a.version).not.toBe(make({ decoder: 'wasm' }).version);
    expect(() => make({ quality: 0 })).toThrow(/quality/);
  });
});

describe('apply', () => {
  it('keep "both" adds a derived JPEG and leaves every other resource alone', async () => {
    const heic = fileResource(IMG_2927);
    const mov = { ...fileResource(`${FIXTURES}/live-photo/train.mov`, 'motion'), name: 'IMG_2927.MOV' };
    const input = { ...assetOf('live', heic, mov), kind: 'live' as const };
    const out = await make({ decoder: 'wasm' }).apply(input, context(dir));
    expect(out).not.toBe(input);
    expect(input.resources).toHaveLength(2);
    expect(out.resources.map((r) => [r.role, r.name])).toEqual([
      ['original', 'IMG_2927.HEIC'],
      ['motion', 'IMG_2927.MOV'],
      ['derived', 'IMG_2927.JPG'],
    ]);
    const jpeg = out.resources[2];
    expect(jpeg).toMatchObject({ mediaType: 'image/jpeg', derivedFrom: heic.key, size: undefined });
  });

  it('keep "converted" replaces only the HEIC, in place, and records the new name', async () => {
    const heic = fileResource(IMG_2927);
    const aae = { ...fileResource(`${FIXTURES}/edge-cases/noexif.jpg`, 'adjustments'), name: 'IMG_2927.AAE', mediaType: 'application/x-apple-aae+xml' };
    const out = await make({ keep: 'converted', decoder: 'wasm' }).apply(assetOf('a', heic, aae), context(dir));
    expect(out.resources.map((r) => r.name)).toEqual(['IMG_2927.JPG', 'IMG_2927.AAE']);
    expect(out.history).toEqual(['IMG_2927.HEIC', 'IMG_2927.JPG']);
  });

  it('returns assets without HEIC unchanged', async () => {
    const input = assetOf('j', fileResource(`${FIXTURES}/live-photo/train.jpg`));
    expect(await make({}).apply(input, context(dir))).toBe(input);
  });
});

describe('damaged HEIC', () => {
  const damaged = ['corrupted.heic', 'truncated.heic', 'oom_large_box.heic'];

  for (const name of damaged) {
    it(`${name}: keep "both" delivers the original with an error diagnostic and no JPEG`, async () => {
      const out = await make({}).apply(assetOf(name, fileResource(`${FIXTURES}/edge-cases/${name}`)), context(dir));
      expect(out.resources.map((r) => r.role)).toEqual(['original']);
      expect(out.diagnostics?.[0]).toMatchObject({ level: 'error', source: 'heic:HEIC_DECODE_FAILED' });
      expect(out.diagnostics?.[0]?.message).toContain(name);
    });
  }

  it('keep "converted" fails the item with HEIC_DECODE_FAILED, naming the file and a hint', async () => {
    const err = await make({ keep: 'converted' })
      .apply(assetOf('t', fileResource(`${FIXTURES}/edge-cases/truncated.heic`)), context(dir))
      .catch((e: unknown) => e);
    expect(isKeepsakeError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'HEIC_DECODE_FAILED', classification: 'permanent' });
    expect((err as Error).message).toContain('truncated.heic');
    expect((err as { hint?: string }).hint).toBeTruthy();
  });

  it('a source that cannot be read is not called damaged: its own error goes through', async () => {
    const gone = { ...fileResource(`${FIXTURES}/heic/IMG_2927.HEIC`), open: () => readFileStream('/nonexistent/IMG_2927.HEIC') };
    const err = await make({}).apply(assetOf('gone', gone), context(dir)).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('when the size is unknown up front, opening the JPEG throws HEIC_DECODE_FAILED (the pipeline fails that item)', async () => {
    const out = await make({ decoder: 'wasm' }).apply(assetOf('c', fileResource(`${FIXTURES}/edge-cases/corrupted.heic`, 'original', false)), context(dir));
    const jpeg = out.resources.find((r) => r.role === 'derived');
    if (!jpeg) throw new Error('no derived resource');
    const err = await readAll(jpeg.open()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HEIC_DECODE_FAILED' });
    expect((err as Error).message).toMatch(/corrupted\.heic/);
  });
});

describe('lazy conversion', () => {
  it('a reader whose signal aborts stops waiting with ABORTED; the conversion still serves others', async () => {
    const out = await make({ decoder: 'wasm' }).apply(assetOf('abort', fileResource(SMALL)), context(join(dir, 'abort')));
    const jpeg = out.resources.find((r) => r.role === 'derived');
    if (!jpeg) throw new Error('no JPEG');
    const controller = new AbortController();
    const aborted = readAll(jpeg.open({ signal: controller.signal })).catch((e: unknown) => e);
    controller.abort();
    expect(await aborted).toMatchObject({ code: 'ABORTED' });
    expect((await readAll(jpeg.open())).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('transforms without an injected pool share the process pool and close it cleanly', async () => {
    const ctx = context(join(dir, 'own-pool'));
    const [a, b] = [80, 70].map((quality) => createHeicToJpegTransform({ decoder: 'wasm', quality, concurrency: 1 }, { logger: silentLogger }));
    if (!a || !b) throw new Error('no transforms');
    const outs = await Promise.all([a, b].map((t) => t.apply(assetOf('own', fileResource(SMALL)), ctx)));
    const jpegs = outs.map((o) => o.resources.find((r) => r.role === 'derived'));
    const bytes = await Promise.all(jpegs.map((j) => readAll(j?.open() ?? (async function* () {})())));
    expect(bytes.map((x) => x.subarray(0, 2).toString('hex'))).toEqual(['ffd8', 'ffd8']);
    await a.close();
    await b.close();
  });

  it('two transforms (two sinks) with the same options share one conversion', async () => {
    const run = vi.spyOn(pool, 'run');
    const ctx = context(join(dir, 'shared-same'));
    const asset = assetOf('same-options', fileResource(SMALL));
    const outs = await Promise.all([make({ decoder: 'wasm' }).apply(asset, ctx), make({ decoder: 'wasm' }).apply(asset, ctx)]);
    const bytes = await Promise.all(outs.map((o) => readAll(o.resources.find((r) => r.role === 'derived')?.open() ?? (async function* () {})())));
    expect(run).toHaveBeenCalledTimes(1);
    expect(bytes[0]?.equals(bytes[1] as Buffer)).toBe(true);
    run.mockRestore();
  });

  it('two transforms (two sinks) with different options converting the same asset do not collide', async () => {
    const ctx = context(join(dir, 'shared-run'));
    const asset = assetOf('same', fileResource(SMALL));
    const [a, b] = await Promise.all([make({ decoder: 'wasm' }).apply(asset, ctx), make({ decoder: 'wasm', quality: 80 }).apply(asset, ctx)]);
    const [ja, jb] = [a, b].map((x) => x.resources.find((r) => r.role === 'derived'));
    if (!ja || !jb) throw new Error('no JPEG');
    const [ba, bb] = await Promise.all([readAll(ja.open()), readAll(jb.open())]);
    expect(ba.length).toBeGreaterThan(bb.length); // quality 92 vs 80: both are real, distinct JPEGs
    expect(bb.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('converts once per asset per run and serves any offset', async () => {
    const run = vi.spyOn(pool, 'run');
    const t = make({ decoder: 'wasm' });
    const out = await t.apply(assetOf('once', fileResource(SMALL)), context(join(dir, 'once')));
    expect(run).not.toHaveBeenCalled();
    const jpeg = out.resources.find((r) => r.role === 'derived');
    if (!jpeg) throw new Error('no JPEG');
    const [full, again] = await Promise.all([readAll(jpeg.open()), readAll(jpeg.open())]);
    const tail = await readAll(jpeg.open({ offset: 1000 }));
    expect(run).toHaveBeenCalledTimes(1);
    expect(again.equals(full)).toBe(true);
    expect(tail.equals(full.subarray(1000))).toBe(true);
    expect(full.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xe1]));
    run.mockRestore();
  });
});

describe.skipIf(!HAS_EXIFTOOL || !HAS_HEIF_CONVERT)('output vs exiftool and the heif-convert reference', () => {
  const decoders = HAS_FFMPEG ? (['wasm', 'native', 'ffmpeg'] as const) : (['wasm', 'native'] as const);

  for (const decoder of decoders) {
    it(`${decoder}: Issue_263 (grid, irot 3 + Orientation 6) is rotated once, keeps EXIF/GPS/ICC/XMP, PSNR ≥ 40 dB`, async () => {
      const out = await convert(ISSUE_263, decoder, `issue263-${decoder}`);
      const tags = exiftool(out);
      expect(tags['IFD0:Orientation']).toBe(1);
      expect([tags['File:ImageWidth'], tags['File:ImageHeight']]).toEqual([3024, 4032]);
      expect([tags['ExifIFD:ExifImageWidth'], tags['ExifIFD:ExifImageHeight']]).toEqual([3024, 4032]);
      expect(tags['ExifIFD:DateTimeOriginal']).toBe('2019:08:21 11:21:36');
      expect(tags['IFD0:Model']).toBe('iPhone XR');
      expect(tags['GPS:GPSLatitude']).toBeCloseTo(38.69954, 4);
      expect(tags['GPS:GPSLongitude']).toBeCloseTo(9.20775, 4);
      expect(tags['GPS:GPSLongitudeRef']).toBe('W');
      expect(tags['ICC-header:ProfileDescription'] ?? tags['ICC_Profile:ProfileDescription']).toBe('Display P3');
      expect(String(tags['XMP-xmp:CreatorTool'])).toBe('12.4');
      expect(tags['IFD0:TileWidth']).toBeUndefined();
      const refDir = mkdtempSync(join(dir, 'ref-'));
      heifConvertReference(ISSUE_263, refDir);
      expect(await psnr(out, join(refDir, 'out.jpg'))).toBeGreaterThanOrEqual(40);
    });

    it(`${decoder}: spatial_photo (two images) converts the primary one`, async () => {
      const out = await convert(SPATIAL, decoder, `spatial-${decoder}`);
      const refDir = mkdtempSync(join(dir, 'ref-'));
      heifConvertReference(SPATIAL, refDir);
      const primary = await psnr(out, join(refDir, 'out-1.jpg'));
      const other = await psnr(out, join(refDir, 'out-2.jpg'));
      expect(primary).toBeGreaterThanOrEqual(40);
      expect(other).toBeLessThan(primary - 5);
      expect(exiftool(out)['IFD0:Model']).toBe('Apple Vision Pro');
    });
  }

  it.skipIf(!HAS_HEIF_ENC)('10-bit HEIC (made with heif-enc -b 10): every decoder matches the reference', async () => {
    const w = 320;
    const h = 240;
    const rgb16 = new Uint16Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        rgb16.set([(x * 65535) / w, (y * 65535) / h, ((x + y) % 64) * 1000], i);
      }
    }
    const png = join(dir, 'ten.png');
    const heic = join(dir, 'ten.heic');
    await sharp(Buffer.from(rgb16.buffer), { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16').png().toFile(png);
    execFileSync('heif-enc', ['-b', '10', '-q', '90', png, '-o', heic], { stdio: 'ignore' });
    const heif = await withFile(heic, (ra) => readHeif(ra));
    expect(findProperty(heif, heif.primaryItemId, 'hvcC')?.bitDepthLuma).toBe(10);
    const refDir = mkdtempSync(join(dir, 'ref-'));
    heifConvertReference(heic, refDir);
    for (const decoder of decoders) {
      // ffmpeg's path takes 8-bit images only: heif-convert decodes this one.
      const out = await convert(heic, decoder, `ten-${decoder}`, decoder === 'ffmpeg' ? 'native' : decoder);
      expect(exiftool(out)['File:BitsPerSample']).toBe(8);
      expect(await psnr(out, join(refDir, 'out.jpg'))).toBeGreaterThanOrEqual(40);
    }
  });

  it.skipIf(!HAS_HEIF_ENC)('imir (mirror, both modes) is applied once, like the reference', async () => {
    // An asymmetric 8-bit picture, encoded by heif-enc, then given an imir property.
    const w = 320;
    const h = 240;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([(x * 255) / w, (y * 255) / h, x < w / 4 && y < h / 3 ? 255 : 0], (y * w + x) * 3);
    const png = join(dir, 'plain.png');
    const plain = join(dir, 'plain.heic');
    await sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } }).png().toFile(png);
    execFileSync('heif-enc', ['-q', '90', png, '-o', plain], { stdio: 'ignore' });
    const plainRef = mkdtempSync(join(dir, 'ref-'));
    heifConvertReference(plain, plainRef);
    for (const mode of [0, 1] as const) {
      const mirrored = join(dir, `imir${mode}.heic`);
      writeFileSync(mirrored, addImir(readFileSync(plain), mode));
      const refDir = mkdtempSync(join(dir, 'ref-'));
      heifConvertReference(mirrored, refDir);
      for (const decoder of decoders) {
        const out = await convert(mirrored, decoder, `imir${mode}-${decoder}`);
        expect(await psnr(out, join(refDir, 'out.jpg'))).toBeGreaterThanOrEqual(40);
        expect(await psnr(out, join(plainRef, 'out.jpg'))).toBeLessThan(25); // really mirrored
      }
    }
  });

  for (const decoder of decoders) {
    // iOS 12: the HEVC stream leaves the YCbCr matrix unspecified; libheif ≥ 1.19 would read it as
    // BT.709 (32 dB against the reference); keepsake's own conversion uses BT.601 like the reference.
    it(`${decoder}: IMG_2682 (iOS 12, unspecified matrix) keeps GPS and date, PSNR ≥ 40 dB`, async () => {
      const out = await convert(IMG_2682, decoder, `img2682-${decoder}`);
      const tags = exiftool(out);
      expect(tags['ExifIFD:DateTimeOriginal']).toBeTruthy();
      expect(tags['GPS:GPSLatitude']).toBeTypeOf('number');
      expect(tags['IFD0:Orientation']).toBe(1);
      const refDir = mkdtempSync(join(dir, 'ref-'));
      heifConvertReference(IMG_2682, refDir);
      expect(await psnr(out, join(refDir, 'out.jpg'))).toBeGreaterThanOrEqual(40);
    });
  }
});
