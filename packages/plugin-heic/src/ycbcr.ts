/**
 * YCbCr → RGB for the wasm decoder. keepsake converts itself instead of letting libheif-js do it
 * because libheif ≥ 1.19 picks a BT.709 matrix when the HEVC stream leaves the matrix
 * unspecified, as iOS 12 HEICs do (fixtures heic/IMG_2682.heic): reds shift by ~4 levels against
 * libheif 1.15's `heif-convert` and Apple, which use BT.601. Rule here, the one `heif-convert`
 * 1.15 follows: an `nclx` colour box decides matrix and range; without one, BT.601 full range —
 * how iPhones encode (their HEVC VUI says matrix 6 / full range when it says anything).
 */

export interface YcbcrPlanes {
  width: number;
  height: number;
  y: { data: Uint8Array; stride: number };
  cb: { data: Uint8Array; stride: number; width: number; height: number };
  cr: { data: Uint8Array; stride: number; width: number; height: number };
}

export interface ColourSignal {
  /** ITU-T H.273 MatrixCoefficients (1 = BT.709, 5/6 = BT.601, 9 = BT.2020 NCL). */
  matrix: number;
  fullRange: boolean;
}

/** What keepsake assumes when a file has no `nclx` box (see above). */
export const DEFAULT_SIGNAL: ColourSignal = { matrix: 6, fullRange: true };

/** Kr and Kb of a matrix; unknown or unsupported values fall back to BT.601. */
export function lumaWeights(matrix: number): { kr: number; kb: number } {
  switch (matrix) {
    case 1:
      return { kr: 0.2126, kb: 0.0722 };
    case 9:
    case 10:
      return { kr: 0.2627, kb: 0.0593 };
    case 4:
      return { kr: 0.3, kb: 0.11 };
    case 7:
      return { kr: 0.212, kb: 0.087 };
    default:
      return { kr: 0.299, kb: 0.114 };
  }
}

/**
 * Converts 8-bit planes to packed RGB. Chroma is upsampled by nearest neighbour (each chroma
 * sample covers its 2×2 block), as libheif 1.15 does; rounding and clamping by Uint8ClampedArray.
 */
export function ycbcrToRgb(p: YcbcrPlanes, signal: ColourSignal = DEFAULT_SIGNAL): Uint8Array {
  const { kr, kb } = lumaWeights(signal.matrix);
  const kg = 1 - kr - kb;
  const yScale = signal.fullRange ? 1 : 255 / 219;
  const yOffset = signal.fullRange ? 0 : 16;
  const cScale = signal.fullRange ? 1 : 255 / 224;
  // Per-value tables keep the inner loop to adds and lookups.
  const yT = new Float32Array(256);
  const crR = new Float32Array(256);
  const cbG = new Float32Array(256);
  const crG = new Float32Array(256);
  const cbB = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    const c = (v - 128) * cScale;
    yT[v] = (v - yOffset) * yScale;
    crR[v] = 2 * (1 - kr) * c;
    cbG[v] = ((2 * kb * (1 - kb)) / kg) * c;
    crG[v] = ((2 * kr * (1 - kr)) / kg) * c;
    cbB[v] = 2 * (1 - kb) * c;
  }
  const { width, height } = p;
  const out = new Uint8ClampedArray(width * height * 3);
  const xShift = p.cb.width < width ? 1 : 0;
  const yShift = p.cb.height < height ? 1 : 0;
  const Y = p.y.data;
  const Cb = p.cb.data;
  const Cr = p.cr.data;
  let o = 0;
  for (let row = 0; row < height; row++) {
    const yRow = row * p.y.stride;
    const cbRow = (row >> yShift) * p.cb.stride;
    const crRow = (row >> yShift) * p.cr.stride;
    for (let col = 0; col < width; col++) {
      const yy = yT[Y[yRow + col] as number] as number;
      const cb = Cb[cbRow + (col >> xShift)] as number;
      const cr = Cr[crRow + (col >> xShift)] as number;
      out[o++] = yy + (crR[cr] as number);
      out[o++] = yy - (cbG[cb] as number) - (crG[cr] as number);
      out[o++] = yy + (cbB[cb] as number);
    }
  }
  return new Uint8Array(out.buffer);
}
