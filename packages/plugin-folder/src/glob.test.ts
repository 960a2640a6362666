import { describe, expect, it } from 'vitest';
import { compileGlob, pathFilter } from './glob.js';

describe('compileGlob', () => {
  it.each([
    ['*.heic', 'DCIM/100APPLE/IMG_0001.HEIC', true],
    ['*.heic', 'IMG_0001.heic', true],
    ['*.heic', 'IMG_0001.heic.txt', false],
    ['*.{jpg,jpeg}', 'a/b.JPEG', true],
    ['DCIM/**', 'DCIM/100APPLE/IMG_0001.HEIC', true],
    ['DCIM/**', 'Other/DCIM/x.jpg', false],
    ['DCIM/*/IMG_????.*', 'DCIM/100APPLE/IMG_0001.MOV', true],
    ['DCIM/*/IMG_????.*', 'DCIM/100APPLE/sub/IMG_0001.MOV', false],
    ['**/Trash/**', 'a/Trash/x.jpg', true],
    ['**/Trash/**', 'Trash/x.jpg', true],
    ['Thumbs', 'a/Thumbs', true],
    ['a+b.jpg', 'a+b.jpg', true],
    ['a+b.jpg', 'aab.jpg', false],
  ])('%s vs %s → %s', (pattern, path, expected) => {
    expect(compileGlob(pattern).test(path)).toBe(expected);
  });
});

describe('pathFilter', () => {
  it('include narrows, exclude wins, excluded folders are not entered', () => {
    const f = pathFilter(['*.heic', '*.mov'], ['Trash/**', 'private']);
    expect(f.file('DCIM/IMG_0001.HEIC')).toBe(true);
    expect(f.file('DCIM/IMG_0001.JPG')).toBe(false);
    expect(f.file('Trash/IMG_0001.HEIC')).toBe(false);
    expect(f.folder('Trash')).toBe(false);
    expect(f.folder('a/private')).toBe(false);
    expect(f.folder('DCIM')).toBe(true);
  });
});
