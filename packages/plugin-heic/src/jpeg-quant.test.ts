import { describe, expect, it } from 'vitest';
import { libjpegQuantTables } from './jpeg-quant.js';

describe('libjpegQuantTables', () => {
  it('matches the tables libjpeg wrote into heif-convert -q 92 output', () => {
    // Read from the DQT segments of heif-convert's JPEG of fixtures heic/IMG_2682.heic.
    const { luma, chroma } = libjpegQuantTables(92);
    expect(luma.slice(0, 8)).toEqual([3, 2, 2, 3, 4, 6, 8, 10]);
    expect(chroma.slice(0, 8)).toEqual([3, 3, 4, 8, 16, 16, 16, 16]);
    expect(luma).toHaveLength(64);
    expect(chroma).toHaveLength(64);
  });

  it('is the Annex K table at 50, all ones at 100, clamped to 255 at 1', () => {
    expect(libjpegQuantTables(50).luma[0]).toBe(16);
    expect(libjpegQuantTables(100).luma.every((v) => v === 1)).toBe(true);
    expect(Math.max(...libjpegQuantTables(1).chroma)).toBe(255);
  });
});
