import { describe, expect, it } from 'vitest';
import { lumaWeights, ycbcrToRgb } from './ycbcr.js';

/** 2×2 image, one chroma sample (4:2:0). */
function planes(y: number[], cb: number, cr: number) {
  return { width: 2, height: 2, y: { data: Uint8Array.from(y), stride: 2 }, cb: { data: Uint8Array.of(cb), stride: 1, width: 1, height: 1 }, cr: { data: Uint8Array.of(cr), stride: 1, width: 1, height: 1 } };
}

describe('ycbcrToRgb', () => {
  it('maps neutral chroma to grey and shares one chroma sample over its 2×2 block', () => {
    expect([...ycbcrToRgb(planes([0, 100, 200, 255], 128, 128))]).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  });

  it('uses BT.601 full range by default (iPhone) and BT.709 when the nclx says so', () => {
    // Pure red in BT.601 full range: Y 76, Cb 85, Cr 255 → (254, 0, 0) within rounding.
    const red601 = [...ycbcrToRgb(planes([76, 76, 76, 76], 85, 255))].slice(0, 3);
    expect(red601[0]).toBeGreaterThanOrEqual(253);
    expect(red601[1]).toBeLessThanOrEqual(1);
    expect(red601[2]).toBeLessThanOrEqual(1);
    // The same code values read as BT.709 give a different colour (the libheif ≥ 1.19 shift).
    const as709 = [...ycbcrToRgb(planes([76, 76, 76, 76], 85, 255), { matrix: 1, fullRange: true })].slice(0, 3);
    expect(as709[1]).toBeGreaterThan(red601[1] as number);
  });

  it('expands limited (video) range', () => {
    expect([...ycbcrToRgb(planes([16, 235, 16, 235], 128, 128), { matrix: 6, fullRange: false })].slice(0, 6)).toEqual([0, 0, 0, 255, 255, 255]);
  });

  it('knows the matrices libheif supports and falls back to BT.601', () => {
    expect(lumaWeights(1)).toEqual({ kr: 0.2126, kb: 0.0722 });
    expect(lumaWeights(9)).toEqual({ kr: 0.2627, kb: 0.0593 });
    expect(lumaWeights(2)).toEqual(lumaWeights(6));
  });
});
