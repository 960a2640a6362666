import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findHeifTools, heifConvertToJpeg, primaryIndexFromHeifInfo } from './heif-convert-cli.js';
import { FIXTURES, HAS_HEIF_CONVERT } from './test-helpers.test-helper.js';

// heif-info 1.15 output for edge-cases/spatial_photo.heic (two top-level images, the first primary).
const SPATIAL = `MIME type: image/heic
main brand: heic
compatible brands: heic, mif1

image: 2560x2560 (id=26), primary
  color profile: prof
  alpha channel: no
metadata:
  Exif: 606 bytes
image: 2560x2560 (id=52)
  color profile: prof
`;

describe('heif-convert tool', () => {
  it('finds the primary among top-level images, ignoring thumbnails', () => {
    expect(primaryIndexFromHeifInfo(SPATIAL)).toBe(0);
    const secondPrimary = 'image: 1x1 (id=1)\n  thumbnail: 1x1\nimage: 2x2 (id=2), primary\n';
    expect(primaryIndexFromHeifInfo(secondPrimary)).toBe(1);
    expect(primaryIndexFromHeifInfo('image: 1x1 (id=1)\n')).toBeUndefined();
  });

  it('is not found on an empty PATH, and a bad explicit path is not used', async () => {
    expect(await findHeifTools(undefined, { PATH: '' })).toBeUndefined();
    expect(await findHeifTools('/nonexistent/heif-convert', { PATH: '' })).toBeUndefined();
  });

  it.skipIf(!HAS_HEIF_CONVERT)('is found on PATH with heif-info beside it', async () => {
    const tools = await findHeifTools(undefined, process.env);
    expect(tools?.heifConvert).toMatch(/heif-convert$/);
    expect(tools?.heifInfo).toMatch(/heif-info$/);
  });

  it.skipIf(!HAS_HEIF_CONVERT)('works with a heif-convert older than libheif 1.13, which has no --quiet (Ubuntu 22.04)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'old-heif-convert-'));
    try {
      const real = (await findHeifTools(undefined, process.env))!;
      const old = join(dir, 'heif-convert');
      // libheif 1.12's option parser: an unknown long option is an error
      writeFileSync(old, `#!/bin/sh\nfor a in "$@"; do [ "$a" = --quiet ] && { echo "heif-convert: unrecognized option '--quiet'" >&2; exit 1; }; done\nexec ${JSON.stringify(real.heifConvert)} "$@"\n`);
      chmodSync(old, 0o755);
      const work = join(dir, 'work');
      mkdirSync(work);
      const jpeg = await heifConvertToJpeg({ heifConvert: old, heifInfo: real.heifInfo }, join(FIXTURES, 'heic/IMG_2927.HEIC'), work, 80);
      expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
