/**
 * The colour signal an HEVC sequence parameter set declares in its VUI (range and matrix). libheif
 * 1.15 — the reference — uses it when the HEIF has no `nclx` box; the ffmpeg decoder reads it
 * itself so that it converts with exactly the reference's matrix (an unspecified matrix, as iOS 12
 * writes, means BT.601 there, not ffmpeg's guess). Parses the SPS up to the VUI (H.265 §7.3.2.2).
 */

export interface VuiSignal {
  /** `video_full_range_flag`, when the VUI has a video signal type. */
  fullRange?: boolean;
  /** `matrix_coeffs`, when the VUI has a colour description. */
  matrix?: number;
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

/** st_ref_pic_set() (§7.3.7) for each of the SPS's sets; later sets may be predicted from earlier ones. */
function skipShortTermRefPicSets(r: Bits, count: number): void {
  const deltaPocs: number[] = [];
  for (let idx = 0; idx < count; idx++) {
    if (idx !== 0 && r.u(1)) {
      // inter_ref_pic_set_prediction_flag: predicted from the previous set (delta_idx is not coded in an SPS).
      r.u(1);
      r.ue();
      let n = 0;
      for (let j = 0; j <= deltaPocs[idx - 1]!; j++) {
        const used = r.u(1) === 1;
        if (used || r.u(1)) n++;
      }
      deltaPocs.push(n);
    } else {
      const negative = r.ue();
      const positive = r.ue();
      if (negative + positive > 32) throw new RangeError('too many reference pictures');
      for (let i = 0; i < negative + positive; i++) {
        r.ue();
        r.u(1);
      }
      deltaPocs.push(negative + positive);
    }
  }
}

/**
 * The VUI colour signal of an SPS NAL unit (with its header). `{}` when the SPS has no VUI or the
 * VUI has no video signal type; undefined when the SPS cannot be followed (damaged).
 */
export function vuiSignal(spsNal: Uint8Array): VuiSignal | undefined {
  if (spsNal.byteLength < 3 || ((spsNal[0]! >> 1) & 0x3f) !== 33) return undefined;
  try {
    const r = new Bits(rbsp(spsNal));
    r.u(4); // sps_video_parameter_set_id
    const maxSubLayersMinus1 = r.u(3);
    r.u(1);
    skipProfileTierLevel(r, maxSubLayersMinus1);
    r.ue(); // sps_seq_parameter_set_id
    if (r.ue() === 3) r.u(1); // chroma_format_idc, separate_colour_plane_flag
    r.ue();
    r.ue(); // picture size
    if (r.u(1)) for (let i = 0; i < 4; i++) r.ue(); // conformance window
    r.ue();
    r.ue(); // bit depths
    const log2MaxPocLsb = r.ue() + 4;
    const orderingForAll = r.u(1) === 1;
    for (let i = orderingForAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) for (let k = 0; k < 3; k++) r.ue();
    for (let i = 0; i < 6; i++) r.ue(); // block sizes, transform hierarchy depths
    if (r.u(1) && r.u(1)) skipScalingListData(r);
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
      for (let i = 0; i < longTerm; i++) r.u(log2MaxPocLsb + 1);
    }
    r.u(2); // temporal mvp, strong intra smoothing
    if (!r.u(1)) return {}; // vui_parameters_present_flag
    if (r.u(1) && r.u(8) === 255) r.u(32); // aspect ratio (+ explicit SAR)
    if (r.u(1)) r.u(1); // overscan
    if (!r.u(1)) return {}; // video_signal_type_present_flag
    r.u(3); // video_format
    const fullRange = r.u(1) === 1;
    if (!r.u(1)) return { fullRange };
    r.u(16); // colour primaries, transfer characteristics
    return { fullRange, matrix: r.u(8) };
  } catch {
    return undefined;
  }
}
