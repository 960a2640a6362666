import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertHeicFile } from './convert.js';
import { FfmpegDecodeError, ffmpegEnv, filterGraph, isJfifColour, jpegEncoderArgs, logProblem, referenceSignal, runFfmpeg } from './ffmpeg-decoder.js';
import { gridLayout } from './grid-layout.js';
import { findHeifTools } from './heif-convert-cli.js';
import type { HevcPlan } from './hevc-plan.js';
import { FIXTURES, HAS_FFMPEG, HAS_HEIF_CONVERT, heifConvertReference, psnr } from './test-helpers.test-helper.js';

const dir = mkdtempSync(join(tmpdir(), 'keepsake-ffmpeg-decoder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const grid: HevcPlan = { tiles: Array.from({ length: 48 }, (_, i) => i + 2), tileWidth: 512, tileHeight: 512, columns: 8, rows: 6, width: 4032, height: 3024, transforms: [], sps: undefined };

describe('filter graph', () => {
  it('turns each tile, assembles the turned grid, crops, converts like libheif 1.15', () => {
    const plan: HevcPlan = { ...grid, transforms: [{ type: 'irot', angle: 3 }, { type: 'imir', mode: 1 }] };
    const layout = gridLayout(plan);
    // irot 3 (a clockwise turn) moves the bottom padding to the left, the mirror moves it back right.
    expect(layout).toMatchObject({ columns: 6, rows: 8, crop: { width: 3024, height: 4032, x: 0, y: 0 } });
    expect(filterGraph(plan, layout, { matrix: 6, fullRange: true }, 'jpeg')).toBe(
      'transpose=clock,hflip,tile=6x8,crop=3024:4032:0:0,scale=in_range=pc:in_color_matrix=bt601:out_range=pc:out_color_matrix=bt601,format=yuvj420p',
    );
    expect(filterGraph(grid, gridLayout(grid), { matrix: 1, fullRange: true }, 'rgb-tiff')).toBe(
      'tile=8x6,crop=4032:3024:0:0,scale=in_range=pc:in_color_matrix=bt709:flags=neighbor+accurate_rnd+full_chroma_int,format=rgb24',
    );
  });

  it('needs no tile or crop filter for a single image; maps irot 1/2 and imir 0', () => {
    const single: HevcPlan = { ...grid, tiles: [1], columns: 1, rows: 1, tileWidth: 1080, tileHeight: 1920, width: 1080, height: 1920 };
    const turned: HevcPlan = { ...single, transforms: [{ type: 'irot', angle: 1 }] };
    expect(filterGraph(turned, gridLayout(turned), { matrix: 1, fullRange: false }, 'rgb-tiff')).toBe(
      'transpose=cclock,scale=in_range=tv:in_color_matrix=bt709:flags=neighbor+accurate_rnd+full_chroma_int,format=rgb24',
    );
    expect(gridLayout(turned).crop).toEqual({ width: 1920, height: 1080, x: 0, y: 0 });
    const flipped: HevcPlan = { ...single, transforms: [{ type: 'irot', angle: 2 }, { type: 'imir', mode: 0 }] };
    expect(filterGraph(flipped, gridLayout(flipped), { matrix: 9, fullRange: true }, 'rgb-tiff')).toContain('hflip,vflip,vflip,scale=');
    // Limited-range BT.601 is stretched to JFIF's full range on the way to the JPEG encoder.
    expect(filterGraph(single, gridLayout(single), { matrix: 6, fullRange: false }, 'jpeg')).toBe('scale=in_range=tv:in_color_matrix=bt601:out_range=pc:out_color_matrix=bt601,format=yuvj420p');
  });

  it('hands matrices swscale has no equivalent for (GBR, YCgCo, chromaticity-derived, ICtCp) to another decoder', () => {
    const layout = gridLayout(grid);
    for (const matrix of [0, 3, 8, 11, 12, 13, 14]) {
      expect(() => filterGraph(grid, layout, { matrix, fullRange: true }, 'rgb-tiff')).toThrow(FfmpegDecodeError);
    }
    expect(filterGraph(grid, layout, { matrix: 2, fullRange: true }, 'rgb-tiff')).toContain('in_color_matrix=bt601');
    expect(filterGraph(grid, layout, { matrix: 7, fullRange: true }, 'rgb-tiff')).toContain('in_color_matrix=smpte240m');
  });

  it("uses libjpeg's tables for the quality with ffmpeg's JPEG encoder, and only for BT.601", () => {
    const args = jpegEncoderArgs(92);
    expect(args.slice(0, 8)).toEqual(['-c:v', 'mjpeg', '-q:v', '8', '-qmin', '8', '-qmax', '8']);
    expect(args[9]?.startsWith('3,2,2,3,4,6,8,10,')).toBe(true);
    expect(isJfifColour({ matrix: 6, fullRange: false })).toBe(true);
    expect(isJfifColour({ matrix: 1, fullRange: true })).toBe(false);
  });
});

describe('referenceSignal', () => {
  it('takes the nclx box first, else the VUI as H.265 infers it', () => {
    const nclx = { matrix: 1, fullRange: false };
    expect(referenceSignal(nclx, undefined)).toBe(nclx);
    expect(referenceSignal(undefined, undefined)).toBeUndefined();
  });
});

describe('ffmpegEnv', () => {
  it("asks glibc for heap frames on huge pages without overriding the user's tunables", () => {
    const mine = 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=268435456:glibc.malloc.top_pad=67108864:glibc.malloc.trim_threshold=268435456';
    expect(ffmpegEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: mine });
    expect(ffmpegEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe(`glibc.malloc.arena_max=2:${mine}`);
    expect(ffmpegEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES).toBe(
      'glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=268435456:glibc.malloc.top_pad=67108864:glibc.malloc.trim_threshold=268435456',
    );
  });
});

describe('logProblem', () => {
  it('accepts a log where every tile was decoded and nothing failed', () => {
    expect(logProblem('[info] Input stream #0:0 (video): 48 packets read (858337 bytes); 48 frames decoded;\n', 48)).toBeUndefined();
  });

  it('rejects missing tiles (the tile filter pads them with black), errors, and a silent log', () => {
    expect(logProblem('30 packets read (500000 bytes); 30 frames decoded;', 48)).toBe('ffmpeg decoded 30 of 48 tiles');
    expect(logProblem('[hevc @ 0x1] [error] Could not find ref with POC 3\n48 frames decoded;', 48)).toContain('Could not find ref');
    expect(logProblem('', 48)).toMatch(/did not report/);
  });

  it("rejects the HEVC decoder's warnings: it warns, then decodes wrongly", () => {
    const warned = '[hevc @ 0x5] [warning] extended_precision_processing_flag not yet implemented\n[info] 48 frames decoded;';
    expect(logProblem(warned, 48)).toContain('extended_precision_processing_flag not yet implemented');
    // Warnings from elsewhere (the image2 muxer's file-name pattern, swscale's pixel format) are fine.
    expect(logProblem("[image2 @ 0x6] [warning] The specified filename 'o.jpg' does not contain an image sequence pattern\n48 frames decoded;", 48)).toBeUndefined();
  });
});

describe.skipIf(!HAS_FFMPEG || !HAS_HEIF_CONVERT)('ffmpeg decoder on the real fixtures', () => {
  const cases = [
    ['heic/IMG_2682.heic', 4032, 3024], // iOS 12 grid, unspecified matrix
    ['heic/IMG_2927.HEIC', 3024, 4032], // iOS 13
    ['heic/Issue_263_dotnet.heic', 3024, 4032], // grid + irot 3
    ['edge-cases/spatial_photo.heic', 2560, 2560], // two images, BT.709 VUI
    ['motion-photo/sample_MP.heic', 1080, 1920], // single image, limited range by VUI default
  ] as const;
  for (const [name, width, height] of cases) {
    it(`${name}: decoded by ffmpeg, matches heif-convert (PSNR ≥ 42 dB after both JPEG encodes)`, async () => {
      const tools = await findHeifTools(undefined, process.env);
      const output = join(dir, `${name.replace('/', '_')}.jpg`);
      const result = await convertHeicFile({ input: `${FIXTURES}/${name}`, output, quality: 92, decoder: 'ffmpeg', ffmpeg: 'ffmpeg', ...(tools ? { tools } : {}), workDir: join(dir, `w-${name.replace('/', '_')}`) });
      expect(result).toMatchObject({ decoder: 'ffmpeg', width, height });
      expect(result.fallbackReason).toBeUndefined();
      const refDir = mkdtempSync(join(dir, 'ref-'));
      heifConvertReference(`${FIXTURES}/${name}`, refDir);
      const ref = name.includes('spatial') ? 'out-1.jpg' : 'out.jpg';
      expect(await psnr(output, join(refDir, ref))).toBeGreaterThanOrEqual(42);
    });
  }
});

// grid-layout.test.ts checks the per-tile algebra against its own model of irot/imir; this checks
// the whole chain — ffmpeg's transpose/flip filters, the reordered tiles, the crop of the padding —
// against the reference, on a grid whose padding (right and bottom) moves with each transform.
describe.skipIf(!HAS_FFMPEG || !HAS_HEIF_CONVERT)('ffmpeg decoder: every irot and imir on a padded grid', () => {
  const source = readFileSync(`${FIXTURES}/heic/Issue_263_dotnet.heic`);
  // Its primary grid's one transform: a 9-byte `irot` box, 1 payload byte. `imir` has the same shape.
  const at = source.indexOf('irot');
  for (const [box, value, width, height] of [
    ['irot', 1, 3024, 4032],
    ['irot', 2, 4032, 3024],
    ['imir', 0, 4032, 3024],
    ['imir', 1, 4032, 3024],
  ] as const) {
    it(`${box} ${value}: decoded by ffmpeg, matches heif-convert (PSNR ≥ 42 dB)`, async () => {
      const edited = Buffer.from(source);
      edited.write(box, at, 'latin1');
      edited[at + 4] = value;
      const input = join(dir, `transformed-${box}${value}.heic`);
      writeFileSync(input, edited);
      const output = `${input}.jpg`;
      const result = await convertHeicFile({ input, output, quality: 92, decoder: 'ffmpeg', ffmpeg: 'ffmpeg', workDir: `${input}.work` });
      expect(result).toMatchObject({ decoder: 'ffmpeg', width, height });
      const refDir = mkdtempSync(join(dir, 'ref-'));
      heifConvertReference(input, refDir);
      expect(await psnr(output, join(refDir, 'out.jpg'))).toBeGreaterThanOrEqual(42);
    });
  }
});

describe.skipIf(!HAS_FFMPEG)('falling back to another decoder', () => {
  const SMALL = `${FIXTURES}/motion-photo/sample_MP.heic`;

  function fakeFfmpeg(name: string, script: string): string {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${script}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  async function viaFfmpeg(input: string, ffmpeg: string, name: string) {
    return convertHeicFile({ input, output: join(dir, `${name}.jpg`), quality: 90, decoder: 'ffmpeg', ffmpeg, workDir: join(dir, `w-${name}`) });
  }

  it('uses the wasm decoder when ffmpeg cannot be started', async () => {
    const result = await viaFfmpeg(SMALL, join(dir, 'no-such-ffmpeg'), 'missing');
    expect(result.decoder).toBe('wasm');
    expect(result.fallbackReason).toMatch(/could not run ffmpeg/);
  });

  it('does not trust an ffmpeg that exits 0 without decoding every tile or with a broken image', async () => {
    const silent = fakeFfmpeg('silent-ffmpeg', 'cat > /dev/null; exit 0');
    expect((await viaFfmpeg(SMALL, silent, 'silent')).fallbackReason).toMatch(/did not report/);
    // Says it decoded the one tile, then writes 10 bytes to the output file (the last argument).
    const short = fakeFfmpeg('short-ffmpeg', 'cat > /dev/null; echo "[info] 1 frames decoded;" >&2; for last; do :; done; head -c 10 /dev/zero > "$last"');
    const result = await viaFfmpeg(SMALL, short, 'short');
    expect(result.decoder).toBe('wasm');
    expect(result.fallbackReason).toMatch(/not a readable JPEG/);
  });

  it('falls back when ffmpeg reports every tile decoded but writes no file', async () => {
    const nothing = fakeFfmpeg('no-output-ffmpeg', 'cat > /dev/null; echo "[info] 1 frames decoded;" >&2; exit 0');
    const result = await viaFfmpeg(SMALL, nothing, 'no-output');
    expect(result.decoder).toBe('wasm');
    expect(result.fallbackReason).toMatch(/wrote no readable output/);
  });

  it('kills an ffmpeg that ignores SIGTERM when its time is up', async () => {
    // ffmpeg only notes SIGTERM between frames; this one never stops on it.
    const stubborn = fakeFfmpeg('stubborn-ffmpeg', "trap '' TERM\nexec sleep 30");
    const started = Date.now();
    await expect(runFfmpeg(stubborn, [], new Uint8Array(16), { timeoutMs: 300 })).rejects.toThrow(/ffmpeg was stopped \(SIGKILL\)/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('rejects with the AbortError itself when aborted (no other decoder should be tried)', async () => {
    const slow = fakeFfmpeg('slow-ffmpeg', 'exec sleep 30');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await runFfmpeg(slow, [], new Uint8Array(16), { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError' });
    expect(err).not.toBeInstanceOf(FfmpegDecodeError);
  });

  it('hands a tile with a broken NAL length to the other decoder', async () => {
    const bytes = Buffer.from(readFileSync(SMALL));
    // The single coded item starts at byte 1650 (iloc): make its first NAL claim 2^31 bytes.
    bytes.writeUInt32BE(0x7fffffff, 1650);
    const broken = join(dir, 'broken-nal.heic');
    writeFileSync(broken, bytes);
    const outcome = await viaFfmpeg(broken, 'ffmpeg', 'broken').then(
      (r) => r.fallbackReason,
      (err: Error) => `threw ${err.name}`,
    );
    // The wasm decoder may conceal the damage or fail; either way ffmpeg did not silently decode it.
    expect(outcome).toMatch(/NAL unit|threw HeicDecodeError/);
  });
});
