import { describe, expect, it } from 'vitest';
import { buildCameraRoll } from './camera-roll.js';

describe('generated camera roll', () => {
  const fs = buildCameraRoll({ assets: 520, seed: 3, largeVideoBytes: 2 * 1024 * 1024 });
  const dcim = [...fs.files.keys()].filter((p) => p.startsWith('/DCIM/'));

  it('uses the iPhone layout: NNNAPPLE folders, a hidden .MISC, IMG_9999 wrapping into a new folder', () => {
    const folders = fs.dirs.get('/DCIM') ?? [];
    expect(folders).toEqual(expect.arrayContaining(['.MISC', '100APPLE', '101APPLE']));
    const wrapFolder = folders.find((f) => (fs.dirs.get(`/DCIM/${f}`) ?? []).some((n) => n.startsWith('IMG_9999')));
    expect(wrapFolder).toBeDefined();
    const next = `/DCIM/${Number.parseInt(wrapFolder as string, 10) + 1}APPLE`;
    expect((fs.dirs.get(next) ?? []).some((n) => /^IMG_0001\./.test(n))).toBe(true);
  });

  it('has Live Photo pairs, edits with AAE sidecars and large videos', () => {
    const names = dcim.map((p) => p.slice(p.lastIndexOf('/') + 1));
    expect(names.some((n) => n.startsWith('IMG_E') && n.endsWith('.HEIC'))).toBe(true);
    expect(names.some((n) => n.endsWith('.AAE'))).toBe(true);
    const jpgs = dcim.filter((p) => p.endsWith('.JPG'));
    expect(jpgs.some((p) => fs.files.has(p.replace(/\.JPG$/, '.MOV')))).toBe(true);
    expect([...fs.files.values()].filter((f) => f.content.size >= 2 * 1024 * 1024 && f.path.endsWith('.MOV')).length).toBeGreaterThanOrEqual(20);
  });

  it('makes every file unique and is deterministic for a seed', () => {
    const heads = new Set(dcim.filter((p) => !p.endsWith('.AAE')).map((p) => {
      const f = fs.files.get(p);
      return f?.content.read(Math.max(0, (f?.content.size ?? 0) - 4096), 4096).toString('hex');
    }));
    expect(heads.size).toBe(dcim.filter((p) => !p.endsWith('.AAE')).length);
    const again = buildCameraRoll({ assets: 520, seed: 3, largeVideoBytes: 2 * 1024 * 1024 });
    const p = dcim[17] as string;
    expect(again.files.get(p)?.content.read(0, 1 << 20)).toEqual(fs.files.get(p)?.content.read(0, 1 << 20));
  });

  it('serves ranges of generated content consistently', () => {
    const big = [...fs.files.values()].find((f) => f.content.size >= 2 * 1024 * 1024);
    const whole = big?.content.read(0, big.content.size) as Buffer;
    expect(whole.length).toBe(big?.content.size);
    expect(big?.content.read(1_000_000, 1234)).toEqual(whole.subarray(1_000_000, 1_001_234));
    expect(big?.content.read(big.content.size - 10, 100).length).toBe(10);
  });
});
