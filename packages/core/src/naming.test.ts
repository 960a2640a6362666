import { describe, expect, it } from 'vitest';
import { checkTemplate, collisionKey, renderTemplate, sanitizeRelativePath, sanitizeSegment, truncateUtf8, withCounter } from './naming.js';

describe('templates', () => {
  const capturedAt = { local: '2020-05-04T18:39:11', offset: '-04:00', source: 'exif' as const };
  it('renders date and name tokens from the local wall time', () => {
    expect(renderTemplate('{yyyy}/{MM}/{dd}', { capturedAt })).toBe('2020/05/04');
    expect(renderTemplate('{yyyy}-{MM} {album}', { capturedAt, album: 'Lisbon' })).toBe('2020-05 Lisbon');
    expect(renderTemplate('{name}.{ext} {{x}}', { name: 'IMG_0001', ext: 'HEIC' })).toBe('IMG_0001.HEIC {x}');
  });
  it('uses "unknown" when there is no date', () => {
    expect(renderTemplate('{yyyy}/{MM}', {})).toBe('unknown/unknown');
  });
  it('rejects unknown tokens up front', () => {
    expect(() => checkTemplate('{yyyy}/{month}')).toThrow(/Unknown token \{month\}/);
  });
});

describe('sanitizing', () => {
  it('never lets a name climb out or become absolute', () => {
    expect(sanitizeRelativePath('../../etc/passwd')).toBe('_/_/etc/passwd');
    expect(sanitizeRelativePath('/abs/x')).toBe('abs/x');
    expect(sanitizeRelativePath('a\\..\\b')).toBe('a/_/b');
    expect(sanitizeSegment('..')).toBe('_');
    expect(sanitizeSegment('')).toBe('_');
  });
  it('replaces NUL, control and Windows-forbidden characters', () => {
    expect(sanitizeSegment('a\0b')).toBe('a_b');
    expect(sanitizeSegment('a:b*c?.jpg')).toBe('a_b_c_.jpg');
    expect(sanitizeSegment('trailing. . ')).toBe('trailing');
    expect(sanitizeSegment('CON.txt')).toBe('CON_.txt');
  });
  it('limits length in UTF-8 bytes, keeping the extension', () => {
    const long = `${'é'.repeat(200)}.HEIC`;
    const out = sanitizeSegment(long);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(255);
    expect(out.endsWith('.HEIC')).toBe(true);
    expect(truncateUtf8('a'.repeat(300), 10)).toBe('a'.repeat(10));
  });
  it('normalises to NFC; collision keys fold case and normal form', () => {
    const nfd = 'Cafe\u0301.jpg';
    expect(sanitizeSegment(nfd)).toBe('Caf\u00e9.jpg');
    expect(collisionKey('IMG_0001.heic')).toBe(collisionKey('IMG_0001.HEIC'));
    expect(collisionKey(nfd)).toBe(collisionKey('Caf\u00e9.JPG'));
  });
  it('adds counters before the extension', () => {
    expect(withCounter('IMG_0001.HEIC', 2)).toBe('IMG_0001 (2).HEIC');
  });
});
