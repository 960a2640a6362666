/**
 * Test-only: writes HEVC sequence parameter set NAL units field by field (H.265 §7.3.2.2), so the
 * SPS reader can be checked on every branch — sub-layers, scaling lists, PCM, predicted short-term
 * reference picture sets, long-term pictures, VUI — that the real fixtures do not reach.
 */

class BitWriter {
  readonly bits: number[] = [];

  u(n: number, value: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  ue(value: number): this {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    return this.u(length, 0).u(length + 1, code);
  }

  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** rbsp_trailing_bits, then bytes with emulation prevention (00 00 0x → 00 00 03 0x for x ≤ 3). */
  nal(header: [number, number]): Uint8Array {
    const bits = [...this.bits, 1];
    while (bits.length % 8) bits.push(0);
    const out = [...header];
    let zeros = 0;
    for (let i = 0; i < bits.length; i += 8) {
      const byte = bits.slice(i, i + 8).reduce((v, b) => v * 2 + b, 0);
      if (zeros >= 2 && byte <= 3) {
        out.push(3);
        zeros = 0;
      }
      out.push(byte);
      zeros = byte === 0 ? zeros + 1 : 0;
    }
    return Uint8Array.from(out);
  }
}

/** A short-term RPS coded explicitly (delta_poc_sX_minus1 values) or predicted from the set before. */
export type RpsFields =
  | { negative: number[]; positive: number[] }
  | { predict: { negativeSign: boolean; absDeltaMinus1: number; flags: { used: boolean; useDelta?: boolean }[] } };

export interface SpsFields {
  nuhLayerId?: number;
  maxSubLayersMinus1?: number;
  /** sub_layer_profile_present_flag / sub_layer_level_present_flag for each sub-layer. */
  subLayers?: { profile: boolean; level: boolean }[];
  chromaFormat?: number;
  separateColourPlanes?: boolean;
  width: number;
  height: number;
  /** Conformance window offsets (left, right, top, bottom) in chroma-sample units. */
  window?: [number, number, number, number];
  bitDepthLuma?: number;
  bitDepthChroma?: number;
  log2MaxPocLsbMinus4?: number;
  orderingForAll?: boolean;
  /** `default`: scaling lists on, no data. `explicit`: scaling_list_data() with every branch. */
  scalingList?: 'default' | 'explicit';
  pcm?: boolean;
  shortTermSets?: RpsFields[];
  /** lt_ref_pic_poc_lsb_sps values. */
  longTerm?: number[];
  vui?: {
    aspectRatioIdc?: number;
    overscan?: boolean;
    signal?: { fullRange: boolean; colour?: { primaries: number; transfer: number; matrix: number } };
  };
}

export function buildSps(f: SpsFields): Uint8Array {
  const w = new BitWriter();
  const subLayers = f.maxSubLayersMinus1 ?? 0;
  w.u(4, 0).u(3, subLayers).u(1, 1);
  // profile_tier_level(1, subLayers): Main Still Picture, level 186, then the sub-layers.
  w.u(2, 0).u(1, 0).u(5, 3).u(32, 0x10000000).u(4, 0b1001).u(43, 0).u(1, 0).u(8, 186);
  const present = f.subLayers ?? [];
  for (let i = 0; i < subLayers; i++) w.u(1, present[i]?.profile ? 1 : 0).u(1, present[i]?.level ? 1 : 0);
  if (subLayers > 0) for (let i = subLayers; i < 8; i++) w.u(2, 0);
  for (let i = 0; i < subLayers; i++) {
    // A sub-layer profile is 88 bits (a different profile from the general one).
    if (present[i]?.profile) w.u(2, 0).u(1, 0).u(5, 1).u(32, 0x40000000).u(4, 0b1011).u(43, 0).u(1, 0);
    if (present[i]?.level) w.u(8, 120);
  }
  w.ue(0); // sps_seq_parameter_set_id
  const chroma = f.chromaFormat ?? 1;
  w.ue(chroma);
  if (chroma === 3) w.u(1, f.separateColourPlanes ? 1 : 0);
  w.ue(f.width).ue(f.height);
  if (f.window) {
    w.u(1, 1);
    for (const offset of f.window) w.ue(offset);
  } else w.u(1, 0);
  w.ue((f.bitDepthLuma ?? 8) - 8).ue((f.bitDepthChroma ?? 8) - 8);
  const log2MaxPocLsbMinus4 = f.log2MaxPocLsbMinus4 ?? 4;
  w.ue(log2MaxPocLsbMinus4);
  const orderingForAll = f.orderingForAll ?? true;
  w.u(1, orderingForAll ? 1 : 0);
  for (let i = orderingForAll ? 0 : subLayers; i <= subLayers; i++) w.ue(i + 1).ue(i).ue(0);
  w.ue(0).ue(3).ue(0).ue(3).ue(2).ue(2); // block sizes, transform hierarchy depths
  if (f.scalingList) {
    w.u(1, 1);
    if (f.scalingList === 'explicit') {
      w.u(1, 1);
      for (let sizeId = 0; sizeId < 4; sizeId++) {
        for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
          // Alternate predicted (pred_matrix_id_delta) and coded lists.
          if ((sizeId + matrixId) % 2 === 0) w.u(1, 0).ue(matrixId % 2);
          else {
            w.u(1, 1);
            if (sizeId > 1) w.se(-3);
            const coefficients = Math.min(64, 1 << (4 + (sizeId << 1)));
            for (let i = 0; i < coefficients; i++) w.se(i % 3 === 0 ? 1 : i % 3 === 1 ? -2 : 0);
          }
        }
      }
    } else w.u(1, 0);
  } else w.u(1, 0);
  w.u(1, 1).u(1, 1); // amp, sao
  if (f.pcm) w.u(1, 1).u(4, 7).u(4, 7).ue(0).ue(1).u(1, 1);
  else w.u(1, 0);
  const sets = f.shortTermSets ?? [];
  w.ue(sets.length);
  sets.forEach((set, idx) => {
    if ('predict' in set) {
      w.u(1, 1).u(1, set.predict.negativeSign ? 1 : 0).ue(set.predict.absDeltaMinus1);
      for (const flag of set.predict.flags) {
        w.u(1, flag.used ? 1 : 0);
        if (!flag.used) w.u(1, flag.useDelta ? 1 : 0);
      }
      return;
    }
    if (idx !== 0) w.u(1, 0);
    w.ue(set.negative.length).ue(set.positive.length);
    for (const d of [...set.negative, ...set.positive]) w.ue(d).u(1, 1);
  });
  if (f.longTerm) {
    w.u(1, 1).ue(f.longTerm.length);
    for (const lsb of f.longTerm) w.u(log2MaxPocLsbMinus4 + 4, lsb).u(1, 1);
  } else w.u(1, 0);
  w.u(1, 1).u(1, 1); // temporal mvp, strong intra smoothing
  if (f.vui) {
    w.u(1, 1);
    if (f.vui.aspectRatioIdc === undefined) w.u(1, 0);
    else {
      w.u(1, 1).u(8, f.vui.aspectRatioIdc);
      if (f.vui.aspectRatioIdc === 255) w.u(16, 4).u(16, 3);
    }
    if (f.vui.overscan === undefined) w.u(1, 0);
    else w.u(1, 1).u(1, f.vui.overscan ? 1 : 0);
    const signal = f.vui.signal;
    if (!signal) w.u(1, 0);
    else {
      w.u(1, 1).u(3, 5).u(1, signal.fullRange ? 1 : 0);
      if (!signal.colour) w.u(1, 0);
      else w.u(1, 1).u(8, signal.colour.primaries).u(8, signal.colour.transfer).u(8, signal.colour.matrix);
    }
    // The rest of the VUI: no chroma location, field or timing info, no bitstream restriction.
    w.u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0);
  } else w.u(1, 0);
  w.u(1, 0); // sps_extension_present_flag
  const layer = f.nuhLayerId ?? 0;
  return w.nal([(33 << 1) | (layer >> 5), ((layer & 31) << 3) | 1]);
}
