import { readHeif, readHeifGrid, withFile } from '@keepsake/media';
import { describe, expect, it } from 'vitest';
import { planHevcDecode } from './hevc-plan.js';
import { parseSps, vuiSignal } from './hevc-vui.js';
import { buildSps, type SpsFields } from './sps-writer.test-helper.js';
import { FIXTURES } from './test-helpers.test-helper.js';

async function spsOf(path: string): Promise<Uint8Array> {
  return withFile(path, async (ra) => {
    const heif = await readHeif(ra);
    const plan = planHevcDecode(heif, await readHeifGrid(ra, heif, heif.primaryItemId));
    if ('unsupported' in plan || !plan.sps) throw new Error(`no plan for ${path}`);
    return plan.sps;
  });
}

describe('vuiSignal', () => {
  it('reads range and matrix from real iPhone SPSs (iOS 13: one short-term RPS, emulation-prevention bytes)', async () => {
    expect(vuiSignal(await spsOf(`${FIXTURES}/heic/IMG_2927.HEIC`))).toEqual({ fullRange: true, matrix: 6 });
    expect(vuiSignal(await spsOf(`${FIXTURES}/heic/Issue_263_dotnet.heic`))).toEqual({ fullRange: true, matrix: 6 });
  });

  it('reports an unspecified matrix as coded (iOS 12 writes 2)', async () => {
    expect(vuiSignal(await spsOf(`${FIXTURES}/heic/IMG_2682.heic`))).toEqual({ fullRange: true, matrix: 2 });
  });

  it('returns {} for a VUI without a video signal type (a Samsung-style Motion Photo HEIC)', async () => {
    expect(vuiSignal(await spsOf(`${FIXTURES}/motion-photo/sample_MP.heic`))).toEqual({});
  });

  it('returns undefined for a cut-off SPS or a NAL unit that is not an SPS', async () => {
    const sps = await spsOf(`${FIXTURES}/heic/IMG_2927.HEIC`);
    expect(vuiSignal(sps.subarray(0, 20))).toBeUndefined();
    const pps = Uint8Array.from(sps);
    pps[0] = 34 << 1;
    expect(vuiSignal(pps)).toBeUndefined();
    expect(vuiSignal(new Uint8Array(0))).toBeUndefined();
  });
});

// SPSs written field by field (sps-writer.test-helper.ts); each was also read with ffmpeg's
// trace_headers bitstream filter, which found its rbsp_stop_one_bit where the writer put it.
describe('parseSps on every branch of H.265 §7.3.2.2', () => {
  const everything: SpsFields = {
    maxSubLayersMinus1: 2,
    subLayers: [
      { profile: true, level: false },
      { profile: false, level: true },
    ],
    orderingForAll: false,
    width: 1920,
    height: 1088,
    window: [0, 0, 0, 4],
    log2MaxPocLsbMinus4: 5,
    scalingList: 'explicit',
    pcm: true,
    shortTermSets: [
      { negative: [0, 1], positive: [2] }, // S0 −1, −3; S1 +3
      // deltaRps +1: −1 → 0 is not used; −3 → −2, +3 → +4, and the reference itself at +1.
      { predict: { negativeSign: false, absDeltaMinus1: 0, flags: [{ used: false, useDelta: false }, { used: false, useDelta: true }, { used: false, useDelta: true }, { used: true }] } },
      // Predicted from a predicted set: one flag for each of its 3 pictures and one for itself.
      { predict: { negativeSign: true, absDeltaMinus1: 1, flags: [{ used: true }, { used: false, useDelta: false }, { used: true }, { used: false, useDelta: true }] } },
      { negative: [3], positive: [] },
    ],
    longTerm: [3, 17],
    vui: { aspectRatioIdc: 255, overscan: true, signal: { fullRange: false, colour: { primaries: 9, transfer: 16, matrix: 9 } } },
  };

  it('follows sub-layers, scaling lists, PCM, predicted reference picture sets and long-term pictures to the VUI', () => {
    expect(parseSps(buildSps(everything))).toEqual({
      chromaFormat: 1,
      separateColourPlanes: false,
      bitDepthLuma: 8,
      bitDepthChroma: 8,
      width: 1920,
      height: 1080,
      cropLeft: 0,
      cropTop: 0,
      vui: { fullRange: false, matrix: 9 },
    });
  });

  it('reports the decoded size less the conformance window (chroma units), and the format', () => {
    const cropped = buildSps({ width: 1088, height: 1920, window: [4, 0, 2, 0], scalingList: 'default', shortTermSets: [{ negative: [], positive: [] }], vui: { aspectRatioIdc: 1, signal: { fullRange: true } } });
    expect(parseSps(cropped)).toMatchObject({ width: 1080, height: 1916, cropLeft: 8, cropTop: 4, vui: { fullRange: true } });
    const chroma444 = buildSps({ chromaFormat: 3, width: 64, height: 64, window: [0, 3, 0, 1], bitDepthLuma: 10, bitDepthChroma: 12, vui: { overscan: false, signal: { fullRange: true, colour: { primaries: 1, transfer: 1, matrix: 0 } } } });
    expect(parseSps(chroma444)).toEqual({ chromaFormat: 3, separateColourPlanes: false, bitDepthLuma: 10, bitDepthChroma: 12, width: 61, height: 63, cropLeft: 0, cropTop: 0, vui: { fullRange: true, matrix: 0 } });
    expect(vuiSignal(buildSps({ width: 64, height: 64 }))).toEqual({});
  });

  it('does not follow an SPS that ffmpeg would read differently, or a layer SPS of a multi-layer stream', () => {
    // deltaRps +1 predicts the −1 picture onto the current one and marks it used: the spec leaves it
    // out of the set, ffmpeg's decoder counts it (and reads one more flag for the next set).
    const zeroDelta = { ...everything, shortTermSets: [everything.shortTermSets![0]!, { predict: { negativeSign: false, absDeltaMinus1: 0, flags: [{ used: true }, { used: true }, { used: true }, { used: true }] } }] };
    expect(vuiSignal(buildSps(zeroDelta))).toBeUndefined();
    expect(vuiSignal(buildSps({ width: 64, height: 64, nuhLayerId: 1, vui: { signal: { fullRange: true } } }))).toBeUndefined();
  });
});
