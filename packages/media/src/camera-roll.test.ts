import { describe, expect, it } from 'vitest';
import { type CameraRollFile, classifyName, groupCameraRoll, isJunkName } from './camera-roll.js';

const f = (path: string): CameraRollFile => ({ path, name: path.split('/').pop()!, size: 1, mtimeMs: 0 });
const summary = (files: string[]) =>
  groupCameraRoll(files.map(f)).map((g) => ({ folder: g.folder, kind: g.kind, members: g.members.map((m) => `${m.role}:${m.file.name}`), warn: g.diagnostics.map((d) => d.source) }));

describe('groupCameraRoll', () => {
  it('groups a Live Photo with its edit and adjustments', () => {
    expect(summary(['DCIM/100APPLE/IMG_0001.HEIC', 'DCIM/100APPLE/IMG_0001.MOV', 'DCIM/100APPLE/IMG_E0001.HEIC', 'DCIM/100APPLE/IMG_E0001.MOV', 'DCIM/100APPLE/IMG_0001.AAE', 'DCIM/100APPLE/IMG_O0001.AAE'])).toEqual([
      {
        folder: 'DCIM/100APPLE',
        kind: 'live',
        members: ['original:IMG_0001.HEIC', 'motion:IMG_0001.MOV', 'edited:IMG_E0001.HEIC', 'edited:IMG_E0001.MOV', 'adjustments:IMG_0001.AAE', 'adjustments:IMG_O0001.AAE'],
        warn: [],
      },
    ]);
  });

  it('never groups across folders (numbers repeat in 101APPLE)', () => {
    const groups = summary(['DCIM/100APPLE/IMG_0001.HEIC', 'DCIM/101APPLE/IMG_0001.MOV']);
    expect(groups).toEqual([
      { folder: 'DCIM/100APPLE', kind: 'photo', members: ['original:IMG_0001.HEIC'], warn: [] },
      { folder: 'DCIM/101APPLE', kind: 'video', members: ['original:IMG_0001.MOV'], warn: [] },
    ]);
  });

  it('extensions are case-insensitive; the still is primary whatever the order', () => {
    expect(summary(['a/img_0002.mov', 'a/img_0002.jpg'])[0]).toMatchObject({ kind: 'live', members: ['original:img_0002.jpg', 'motion:img_0002.mov'] });
  });

  it('drops OS junk', () => {
    expect(summary(['.DS_Store', 'a/Thumbs.db', 'a/desktop.ini', 'a/._IMG_0001.HEIC', '.Spotlight-V100/Store-V2/x.jpg', '.Trashes/501/y.jpg', 'a/.keepsake-partial-abc-IMG_0001.HEIC', 'a/IMG_0001.HEIC'])).toEqual([
      { folder: 'a', kind: 'photo', members: ['original:IMG_0001.HEIC'], warn: [] },
    ]);
  });

  it('keeps a stray AAE as its own asset with a warning', () => {
    expect(summary(['a/IMG_0005.AAE'])).toEqual([{ folder: 'a', kind: 'other', members: ['adjustments:IMG_0005.AAE'], warn: ['media:stray-aae'] }]);
  });

  it('names differing only by case stay two assets', () => {
    const groups = summary(['a/IMG_0001.heic', 'a/IMG_0001.HEIC']);
    expect(groups).toHaveLength(2);
    expect(groups.flatMap((g) => g.warn)).toEqual(['media:case-duplicate']);
  });

  it('an edited render without its original is kept (with an info note)', () => {
    expect(summary(['a/IMG_E0009.JPG'])).toEqual([{ folder: 'a', kind: 'photo', members: ['edited:IMG_E0009.JPG'], warn: ['media:edited-without-original'] }]);
  });

  it('non-media files are kept as other assets', () => {
    expect(summary(['a/notes.txt'])).toEqual([{ folder: 'a', kind: 'other', members: ['original:notes.txt'], warn: [] }]);
  });
});

describe('classifyName', () => {
  it('maps Apple variants to the shared stem', () => {
    expect(classifyName('IMG_E0001.HEIC')).toEqual({ stem: 'IMG_0001', variant: 'edited', category: 'image' });
    expect(classifyName('IMG_O0001.AAE')).toEqual({ stem: 'IMG_0001', variant: 'original-adjustments', category: 'adjustments' });
    expect(classifyName('IMG_0001.MOV')).toEqual({ stem: 'IMG_0001', variant: 'plain', category: 'video' });
    expect(classifyName('IMG_EXTRA.JPG').stem).toBe('IMG_EXTRA');
  });

  it('recognises junk', () => {
    expect(isJunkName('.DS_Store')).toBe(true);
    expect(isJunkName('IMG_0001.HEIC')).toBe(false);
  });
});
