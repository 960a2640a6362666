import type { Asset, Resource } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { fitPath, itemPathSegment, MAX_PATH_CHARS, renderFolder, resourceFileName, sanitizeOneDriveSegment } from './names.js';

const res = (name: string, role: Resource['role'] = 'original'): Resource => ({
  role,
  name,
  key: name,
  size: 1,
  mtimeMs: 0,
  mediaType: 'image/heic',
  open: () => (async function* () {})(),
});
const asset = (resources: Resource[], local = '2024-05-17T09:30:00'): Asset => ({
  id: 'a',
  kind: 'live',
  capturedAt: { local, source: 'exif' },
  resources,
});

describe('OneDrive names', () => {
  it('replaces forbidden characters and trims trailing dots and spaces', () => {
    expect(sanitizeOneDriveSegment('a:b*c?d"e<f>g|h.jpg')).toBe('a_b_c_d_e_f_g_h.jpg');
    expect(sanitizeOneDriveSegment('holiday...')).toBe('holiday');
    expect(sanitizeOneDriveSegment('  spaced name  ')).toBe('spaced name');
    expect(sanitizeOneDriveSegment('back\\slash/name')).toBe('back_slash_name');
  });
  it('avoids reserved names', () => {
    expect(sanitizeOneDriveSegment('CON')).toBe('CON_');
    expect(sanitizeOneDriveSegment('nul.jpg')).toBe('nul_.jpg');
    expect(sanitizeOneDriveSegment('.lock')).toBe('_.lock');
    expect(sanitizeOneDriveSegment('desktop.ini')).toBe('desktop_.ini');
    expect(sanitizeOneDriveSegment('~$draft.docx')).toBe('_draft.docx');
    expect(sanitizeOneDriveSegment('a_vti_b')).toBe('a_vti-b');
    expect(sanitizeOneDriveSegment('...')).toBe('_');
  });
  it('renders the folder template from the capture date', () => {
    expect(renderFolder('Pictures/keepsake/{yyyy}/{MM}', asset([res('IMG_0001.HEIC')]))).toBe('Pictures/keepsake/2024/05');
    expect(renderFolder('Photos/{album}', { ...asset([res('a.jpg')]), album: 'Trip: Rome?' })).toBe('Photos/Trip_ Rome_');
    expect(renderFolder('../../{yyyy}', asset([res('a.jpg')]))).not.toContain('..');
  });
  it('gives Live Photo parts the same base name, also with a counter', () => {
    const a = asset([res('IMG_0001.HEIC'), res('IMG_0001.MOV', 'motion'), res('IMG_E0001.HEIC', 'edited')]);
    expect(a.resources.map((r) => resourceFileName(a, r))).toEqual(['IMG_0001.HEIC', 'IMG_0001.MOV', 'IMG_E0001.HEIC']);
    expect(a.resources.map((r) => resourceFileName(a, r, 2))).toEqual(['IMG_0001 (2).HEIC', 'IMG_0001 (2).MOV', 'IMG_E0001 (2).HEIC']);
    const odd = asset([res('IMG:0002. ', 'original'), res('weird name.MOV', 'motion')]);
    expect(odd.resources.map((r) => resourceFileName(odd, r))).toEqual(['IMG_0002', 'IMG_0002.MOV']);
  });
  it('keeps paths within 400 characters, shortening the base name but not the extension', () => {
    const folder = 'f'.repeat(300);
    const p = fitPath(folder, `${'n'.repeat(200)}.HEIC`);
    expect(p.length).toBe(MAX_PATH_CHARS);
    expect(p.endsWith('.HEIC')).toBe(true);
    expect(() => fitPath('f'.repeat(395), 'x.HEIC')).toThrow(/no room/);
  });
  it('builds Graph path addressing with encoded segments', () => {
    expect(itemPathSegment('Pictures/2024/IMG 1#.HEIC')).toBe('root:/Pictures/2024/IMG%201%23.HEIC:');
  });
});
