import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectCaptureDate } from './capture-date.js';
import { withFixture } from './fixtures.test-helper.js';
import { readJpegExif } from './jpeg.js';
import { readMediaInfo } from './media-info.js';
import { readPngMetadata } from './png.js';
import { randomAccessFromBytes } from './random-access.js';

const ascii = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** One PNG chunk with its real CRC, as libpng and exiftool write it. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.byteLength);
  out.set(ascii(type), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.byteLength, crc32(out.subarray(4, 8 + data.byteLength)));
  return out;
}

/** A 1×1 grey PNG with `extra` chunks between IHDR and IDAT (where exiftool and iOS put metadata). */
function png(extra: Uint8Array[], afterIdat: Uint8Array[] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, 1);
  new DataView(ihdr.buffer).setUint32(4, 1);
  ihdr[8] = 8;
  return cat(ascii('\x89PNG\r\n\x1a\n'), chunk('IHDR', ihdr), ...extra, chunk('IDAT', new Uint8Array(deflateSync(new Uint8Array(2)))), ...afterIdat, chunk('IEND', new Uint8Array()));
}

const trainTiff = () => withFixture('live-photo/train.jpg', async (ra) => (await readJpegExif(ra))!);

/** iTXt: keyword, NUL, compression flag, method, language, NUL, translated keyword, NUL, text. */
function itxt(keyword: string, text: string, compressed: boolean): Uint8Array {
  const body = new TextEncoder().encode(text);
  return chunk('iTXt', cat(ascii(`${keyword}\0`), new Uint8Array([compressed ? 1 : 0, 0]), ascii('\0\0'), compressed ? new Uint8Array(deflateSync(body)) : body));
}

describe('PNG metadata', () => {
  it('eXIf (as exiftool writes it from train.jpg): DateTimeOriginal + SubSec + OffsetTimeOriginal', async () => {
    const file = png([chunk('eXIf', await trainTiff())]);
    const date = await detectCaptureDate({ name: 'IMG_0001.PNG', ra: randomAccessFromBytes(file), mtimeMs: Date.parse('2025-01-01T00:00:00Z') });
    expect(date).toEqual({ local: '2021-04-10T11:44:00.814', offset: '+01:00', source: 'exif' });
    const info = await readMediaInfo(randomAccessFromBytes(file));
    expect(info.exif?.model).toBe('iPhone 6s');
    expect(info.contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
  });

  it('screenshot XMP in a compressed iTXt chunk gives the date; the EXIF prefix variant is accepted', async () => {
    const xmp =
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"><exif:UserComment>Screenshot</exif:UserComment><photoshop:DateCreated>2023-01-15T12:34:56+01:00</photoshop:DateCreated></rdf:Description></rdf:RDF></x:xmpmeta>';
    for (const compressed of [false, true]) {
      const file = png([itxt('XML:com.adobe.xmp', xmp, compressed)]);
      expect(await detectCaptureDate({ name: 'IMG_0002.PNG', ra: randomAccessFromBytes(file) })).toEqual({ local: '2023-01-15T12:34:56', offset: '+01:00', source: 'xmp' });
    }
    const prefixed = png([chunk('eXIf', cat(ascii('Exif\0\0'), await trainTiff()))]);
    expect((await readPngMetadata(randomAccessFromBytes(prefixed))).exif?.subarray(0, 4)).toEqual(ascii('MM\0*'));
  });

  it("ImageMagick's hex 'Raw profile type exif' zTXt", async () => {
    const tiff = cat(ascii('Exif\0\0'), await trainTiff());
    const hex = [...tiff].map((b) => b.toString(16).padStart(2, '0')).join('');
    const lines = hex.match(/.{1,72}/g)!.join('\n');
    const text = `\nexif\n${String(tiff.byteLength).padStart(8)}\n${lines}\n`;
    const ztxt = chunk('zTXt', cat(ascii('Raw profile type exif\0'), new Uint8Array([0]), new Uint8Array(deflateSync(ascii(text)))));
    const meta = await readPngMetadata(randomAccessFromBytes(png([ztxt])));
    expect(meta.exif?.byteLength).toBe(tiff.byteLength - 6);
  });

  it('a PNG whose image data is cut short (partial copy) keeps the EXIF and XMP before it', async () => {
    const file = png([chunk('eXIf', await trainTiff()), itxt('XML:com.adobe.xmp', '<x:xmpmeta/>', true)]);
    const idat = Buffer.from(file).indexOf('IDAT') - 4;
    for (const end of [idat + 4, idat + 8, idat + 10, idat + 13]) {
      const cut = file.subarray(0, end); // inside IDAT's header, its data, its CRC
      const meta = await readPngMetadata(randomAccessFromBytes(cut));
      expect(meta.exif?.subarray(0, 4), `cut at ${end}`).toEqual(ascii('MM\0*'));
      expect(meta.xmp).toBe('<x:xmpmeta/>');
      const diagnostics: unknown[] = [];
      const date = await detectCaptureDate({ name: 'IMG_0003.PNG', ra: randomAccessFromBytes(cut), onDiagnostic: (d) => diagnostics.push(d) });
      expect(date).toEqual({ local: '2021-04-10T11:44:00.814', offset: '+01:00', source: 'exif' });
      // cut before IDAT's type is readable, the file visibly ends early: a warning; later, the metadata is whole
      expect(diagnostics, `cut at ${end}`).toEqual(end < idat + 8 ? [expect.objectContaining({ source: 'media:malformed', message: expect.stringContaining('ends before its image data') })] : []);
    }
  });

  it('damage after the metadata keeps what was read before it and says what was wrong', async () => {
    const tiff = await trainTiff();
    const comment = chunk('tEXt', ascii(`Comment\0${'x'.repeat(500)}`));
    const file = png([chunk('eXIf', tiff), comment]);
    const cut = file.subarray(0, Buffer.from(file).indexOf('tEXt') + 100); // the file ends inside the next chunk
    const meta = await readPngMetadata(randomAccessFromBytes(cut));
    expect(meta.exif?.byteLength).toBe(tiff.byteLength);
    expect(meta.damage).toMatchObject({ code: 'MEDIA_MALFORMED', message: expect.stringContaining('"tEXt" runs past the end of the file') });
    // readMediaInfo passes it on, and the capture-date reader turns it into a warning
    expect((await readMediaInfo(randomAccessFromBytes(cut))).damage).toContain('"tEXt" runs past the end of the file');
    const diagnostics: { source: string; message: string }[] = [];
    const date = await detectCaptureDate({ name: 'IMG_0009.PNG', ra: randomAccessFromBytes(cut), onDiagnostic: (d) => diagnostics.push(d) });
    expect(date?.source).toBe('exif');
    expect(diagnostics).toEqual([expect.objectContaining({ source: 'media:malformed', message: expect.stringContaining('IMG_0009.PNG is partly damaged') })]);
    // a file that ends between chunks, before any image data
    const ended = file.subarray(0, Buffer.from(file).indexOf('tEXt') - 4);
    expect(await readPngMetadata(randomAccessFromBytes(ended))).toMatchObject({ exif: expect.any(Uint8Array), damage: { code: 'MEDIA_MALFORMED', message: expect.stringContaining('before its image data') } });
  });

  it('one damaged compressed text chunk costs only itself', async () => {
    const tiff = await trainTiff();
    const broken = (type: string, keyword: string) =>
      type === 'zTXt'
        ? chunk('zTXt', cat(ascii(`${keyword}\0`), new Uint8Array([0]), ascii('not zlib')))
        : chunk('iTXt', cat(ascii(`${keyword}\0`), new Uint8Array([1, 0]), ascii('\0\0'), ascii('not zlib')));
    // a damaged XMP before the eXIf, a damaged comment after it: the EXIF is still read
    for (const file of [png([broken('iTXt', 'XML:com.adobe.xmp'), chunk('eXIf', tiff)]), png([chunk('eXIf', tiff), broken('zTXt', 'Comment')])]) {
      const meta = await readPngMetadata(randomAccessFromBytes(file));
      expect(meta.exif?.byteLength).toBe(tiff.byteLength);
      expect(meta.damage).toMatchObject({ code: 'MEDIA_MALFORMED', message: expect.stringContaining('damaged compressed data') });
      expect((await readMediaInfo(randomAccessFromBytes(file))).contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
    }
    // and the XMP after a damaged Raw profile
    const xmpAfter = png([broken('zTXt', 'Raw profile type exif'), itxt('XML:com.adobe.xmp', '<x:xmpmeta/>', false)]);
    expect(await readPngMetadata(randomAccessFromBytes(xmpAfter))).toMatchObject({ xmp: '<x:xmpmeta/>', damage: { code: 'MEDIA_MALFORMED' } });
  });

  it('never reads past the first IDAT, and damaged chunks are MEDIA_MALFORMED', async () => {
    const late = png([], [chunk('eXIf', await trainTiff())]);
    expect(await readPngMetadata(randomAccessFromBytes(late))).toEqual({});
    const file = png([chunk('eXIf', await trainTiff())]);
    const cut = file.subarray(0, 100);
    await expect(readPngMetadata(randomAccessFromBytes(cut))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
    const bomb = png([chunk('iTXt', cat(ascii('XML:com.adobe.xmp\0'), new Uint8Array([1, 0]), ascii('\0\0'), ascii('not zlib')))]);
    await expect(readPngMetadata(randomAccessFromBytes(bomb))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED' });
    // nothing usable before the file ends: still MEDIA_MALFORMED
    const noImage = file.subarray(0, Buffer.from(file).indexOf('eXIf') - 4);
    await expect(readPngMetadata(randomAccessFromBytes(noImage))).rejects.toMatchObject({ code: 'MEDIA_MALFORMED', message: expect.stringContaining('before its image data') });
  });
});
