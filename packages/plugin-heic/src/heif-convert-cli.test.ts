import { describe, expect, it } from 'vitest';
import { findHeifTools, primaryIndexFromHeifInfo } from './heif-convert-cli.js';
import { HAS_HEIF_CONVERT } from './test-helpers.test-helper.js';

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
});
