// Names and bytes of the hostile source's items; no imports, so tests can load it directly.
export const HOSTILE_NAMES = [
  '../x.jpg',
  '../../etc/passwd.jpg',
  '/abs/olute.jpg',
  'a\0b.jpg',
  'ctrl\x01\x1f\x7f.jpg',
  `${'L'.repeat(296)}.jpg`,
  `${'é'.repeat(200)}.jpg`,
  '..',
  '.',
  'con.jpg',
  'trailing-dot.',
  'IMG_0001.heic',
  'IMG_0001.HEIC',
  'caf\u00e9.jpg',
  'cafe\u0301.jpg',
];

export function hostileBytes(i, name) {
  return Buffer.from(`hostile item ${i} ${JSON.stringify(name)}\n`, 'utf8');
}
