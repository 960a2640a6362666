/**
 * What the ffmpeg decoder needs from an HEVC sequence parameter set (H.265 §7.3.2.2): the decoded
 * picture's size and sample format, to check them against the HEIF item (ffmpeg's `tile` filter
 * trusts the frames it gets), and the colour signal of its VUI (range and matrix). libheif 1.15 —
 * the reference — uses the VUI when the HEIF has no `nclx` box; the ffmpeg decoder reads it itself
 * so that it converts with exactly the reference's matrix (an unspecified matrix, as iOS 12 writes,
 * means BT.601 there, not ffmpeg's guess).
 */

export interface VuiSignal {
  /** `video_full_range_flag`, when the VUI has a video signal type. */
  fullRange?: boolean;
  /** `matrix_coeffs`, when the VUI has a colour description. */
  matrix?: number;
}

export interface SpsInfo {
  /** `chroma_format_idc` (1 = 4:2:0). */
  chromaFormat: number;
  separateColourPlanes: boolean;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** The decoded picture's size: the coded size less the conformance window. */
  width: number;
  height: number;
  /**
   * Conformance-window offsets on the left and top, in luma samples. ffmpeg keeps such a crop
   * only partly unless it is aligned (the frame comes out wider or taller than `width`×`height`).
   */
  cropLeft: number;
  cropTop: number;
  vui: VuiSignal;
}

class Bits {
  private pos = 0;
  private readonly data: Uint8Array;
  constructor(data: Uint8Array) {
    this.data = data;
  }

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.pos >> 3];
      if (byte === undefined) throw new RangeError('SPS ends early');
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }

  /** Unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RangeError('Exp-Golomb code too long');
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** NAL unit payload without its 2-byte header and emulation-prevention bytes (00 00 03 → 00 00). */
function rbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.byteLength);
  let n = 0;
  let zeros = 0;
  for (let i = 2; i < nal.byteLength; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

function skipProfileTierLevel(r: Bits, maxSubLayersMinus1: number): void {
  r.u(96); // general profile, tier, flags and level
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.u(1) === 1);
    levelPresent.push(r.u(1) === 1);
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.u(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.u(88);
    if (levelPresent[i]) r.u(8);
  }
}

function skipScalingListData(r: Bits): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (r.u(1) === 0) r.ue();
      else {
        const coefficients = Math.min(64, 1 << (4 + (sizeId << 1)));
        if (sizeId > 1) r.se();
        for (let i = 0; i < coefficients; i++) r.se();
      }
    }
  }
}

/**
 * st_ref_pic_set() (§7.3.7) for each of the SPS's sets; later sets may be predicted from the one
 * before; a predicted set's pictures are derived as in (7-61)/(7-62), since the next set may be
 * predicted from it and reads one flag per picture.
 */
function skipShortTermRefPicSets(r: Bits, count: number): void {
  // Each set's DeltaPocS0 (negative, nearest first) and DeltaPocS1 (positive) values.
  const sets: { s0: number[]; s1: number[] }[] = [];
  for (let idx = 0; idx < count; idx++) {
    if (idx !== 0 && r.u(1)) {
      // inter_ref_pic_set_prediction_flag (delta_idx_minus1 is not coded in an SPS: the set before).
      const { s0, s1 } = sets[idx - 1]!;
      const deltaRps = (1 - 2 * r.u(1)) * (r.ue() + 1);
      // use_delta_flag[j] for the reference's S0, then S1, then the reference picture itself.
      const useDelta: boolean[] = [];
      for (let j = 0; j <= s0.length + s1.length; j++) useDelta.push(r.u(1) === 1 || r.u(1) === 1);
      // A reference predicted onto the current picture (delta 0) is left out of the set here, but
      // ffmpeg's decoder keeps it and then reads the rest of the SPS differently: not followed.
      for (let j = 0; j < s0.length + s1.length; j++) if (useDelta[j] && [...s0, ...s1][j]! + deltaRps === 0) throw new RangeError('a reference predicted onto the current picture');
      const self = useDelta[s0.length + s1.length]!;
      const next = { s0: [] as number[], s1: [] as number[] };
      for (let j = s1.length - 1; j >= 0; j--) if (s1[j]! + deltaRps < 0 && useDelta[s0.length + j]) next.s0.push(s1[j]! + deltaRps);
      if (deltaRps < 0 && self) next.s0.push(deltaRps);
      for (let j = 0; j < s0.length; j++) if (s0[j]! + deltaRps < 0 && useDelta[j]) next.s0.push(s0[j]! + deltaRps);
      for (let j = s0.length - 1; j >= 0; j--) if (s0[j]! + deltaRps > 0 && useDelta[j]) next.s1.push(s0[j]! + deltaRps);
      if (deltaRps > 0 && self) next.s1.push(deltaRps);
      for (let j = 0; j < s1.length; j++) if (s1[j]! + deltaRps > 0 && useDelta[s0.length + j]) next.s1.push(s1[j]! + deltaRps);
      sets.push(next);
    } else {
      const negative = r.ue();
      const positive = r.ue();
      if (negative > 16 || positive > 16) throw new RangeError('too many reference pictures');
      const next = { s0: [] as number[], s1: [] as number[] };
      for (let i = 0, poc = 0; i < negative; i++) {
        poc -= r.ue() + 1; // delta_poc_s0_minus1
        r.u(1);
        next.s0.push(poc);
      }
      for (let i = 0, poc = 0; i < positive; i++) {
        poc += r.ue() + 1; // delta_poc_s1_minus1
        r.u(1);
        next.s1.push(poc);
      }
      sets.push(next);
    }
    if (sets[idx]!.s0.length + sets[idx]!.s1.length > 32) throw new RangeError('too many reference pictures');
  }
}

/**
 * Reads an SPS NAL unit (with its header) up to its colour signal. Its `vui` is `{}` when the SPS
 * has no VUI or the VUI has no video signal type. Undefined when the SPS cannot be followed
 * (damaged, or a layer's SPS of a multi-layer stream, whose syntax differs).
 */
export function parseSps(spsNal: Uint8Array): SpsInfo | undefined {
  if (spsNal.byteLength < 3 || ((spsNal[0]! >> 1) & 0x3f) !== 33) return undefined;
  if (((spsNal[0]! & 1) << 5) | (spsNal[1]! >> 3)) return undefined; // nuh_layer_id
  try {
    const r = new Bits(rbsp(spsNal));
    r.u(4); // sps_video_parameter_set_id
    const maxSubLayersMinus1 = r.u(3);
    if (maxSubLayersMinus1 > 6) return undefined;
    r.u(1); // sps_temporal_id_nesting_flag
    skipProfileTierLevel(r, maxSubLayersMinus1);
    r.ue(); // sps_seq_parameter_set_id
    const chromaFormat = r.ue();
    if (chromaFormat > 3) return undefined;
    const separateColourPlanes = chromaFormat === 3 && r.u(1) === 1;
    const codedWidth = r.ue();
    const codedHeight = r.ue();
    // Conformance-window offsets count chroma samples (SubWidthC × SubHeightC luma samples).
    const chromaArrayType = separateColourPlanes ? 0 : chromaFormat;
    const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeight = chromaArrayType === 1 ? 2 : 1;
    const window = r.u(1) ? [r.ue() * subWidth, r.ue() * subWidth, r.ue() * subHeight, r.ue() * subHeight] : [0, 0, 0, 0];
    const [cropLeft, cropRight, cropTop, cropBottom] = window as [number, number, number, number];
    const width = codedWidth - cropLeft - cropRight;
    const height = codedHeight - cropTop - cropBottom;
    if (width <= 0 || height <= 0) return undefined;
    const bitDepthLuma = r.ue() + 8;
    const bitDepthChroma = r.ue() + 8;
    const log2MaxPocLsbMinus4 = r.ue();
    if (log2MaxPocLsbMinus4 > 12) return undefined;
    const orderingForAll = r.u(1) === 1;
    for (let i = orderingForAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) for (let k = 0; k < 3; k++) r.ue();
    for (let i = 0; i < 6; i++) r.ue(); // block sizes, transform hierarchy depths
    if (r.u(1) && r.u(1)) skipScalingListData(r); // scaling_list_enabled_flag, sps_scaling_list_data_present_flag
    r.u(2); // amp, sao
    if (r.u(1)) {
      r.u(8); // pcm bit depths
      r.ue();
      r.ue();
      r.u(1);
    }
    const shortTermSets = r.ue();
    if (shortTermSets > 64) return undefined;
    skipShortTermRefPicSets(r, shortTermSets);
    if (r.u(1)) {
      const longTerm = r.ue();
      if (longTerm > 32) return undefined;
      for (let i = 0; i < longTerm; i++) r.u(log2MaxPocLsbMinus4 + 4 + 1); // lt_ref_pic_poc_lsb_sps, used_by_curr_pic_lt_sps_flag
    }
    r.u(2); // temporal mvp, strong intra smoothing
    const info = { chromaFormat, separateColourPlanes, bitDepthLuma, bitDepthChroma, width, height, cropLeft, cropTop };
    return { ...info, vui: readVuiSignal(r) };
  } catch {
    return undefined;
  }
}

/** vui_parameters() (Annex E.2.1) up to matrix_coeffs, after vui_parameters_present_flag. */
function readVuiSignal(r: Bits): VuiSignal {
  if (!r.u(1)) return {}; // vui_parameters_present_flag
  if (r.u(1) && r.u(8) === 255) r.u(32); // aspect ratio (+ explicit SAR)
  if (r.u(1)) r.u(1); // overscan
  if (!r.u(1)) return {}; // video_signal_type_present_flag
  r.u(3); // video_format
  const fullRange = r.u(1) === 1;
  if (!r.u(1)) return { fullRange };
  r.u(16); // colour primaries, transfer characteristics
  return { fullRange, matrix: r.u(8) };
}

/** The VUI colour signal of an SPS NAL unit; undefined when the SPS cannot be followed. */
export function vuiSignal(spsNal: Uint8Array): VuiSignal | undefined {
  return parseSps(spsNal)?.vui;
}
