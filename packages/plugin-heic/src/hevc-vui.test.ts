import { readHeif, readHeifGrid, withFile } from '@keepsake/media';
import { describe, expect, it } from 'vitest';
import { planHevcDecode } from './hevc-plan.js';
import { vuiSignal } from './hevc-vui.js';
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
