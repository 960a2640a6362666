import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertHeicFile } from './convert.js';
import { exiftool, FIXTURES, HAS_EXIFTOOL } from './test-helpers.test-helper.js';
import { withoutMotionPhotoXmp } from './xmp-motion.js';

const SAMPLE_MP = `${FIXTURES}/motion-photo/sample_MP.heic`; // Google Motion Photo HEIC, 1080×1920

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'keepsake-heic-mp-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('withoutMotionPhotoXmp', () => {
  it('removes the Motion Photo attributes and the Container directory, whatever the prefixes, and keeps the rest', () => {
    const xmp = [
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
      '<rdf:Description rdf:about="" xmlns:Cam="http://ns.google.com/photos/1.0/camera/" xmlns:Dir=\'http://ns.google.com/photos/1.0/container/\'',
      '  xmlns:Item="http://ns.google.com/photos/1.0/container/item/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
      '  Cam:MotionPhoto="1" Cam:MotionPhotoVersion="1" xmp:CreateDate="2024-01-13T21:38:53" Cam:MicroVideoOffset=\'2582\'>',
      '  <Cam:MotionPhotoPresentationTimestampUs>500000</Cam:MotionPhotoPresentationTimestampUs>',
      '  <Dir:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Dir:Item Item:Mime="video/mp4" Item:Length="9"/></rdf:li></rdf:Seq></Dir:Directory>',
      '</rdf:Description></rdf:RDF></x:xmpmeta>',
    ].join('\n');
    const { xmp: out, removed } = withoutMotionPhotoXmp(xmp);
    expect(removed).toBe(true);
    expect(out).not.toMatch(/MotionPhoto|MicroVideo|Directory|Item:Length/);
    expect(out).toContain('xmp:CreateDate="2024-01-13T21:38:53"');
    expect(out).toContain('</rdf:Description></rdf:RDF></x:xmpmeta>');
  });

  it('leaves a packet without Motion Photo properties unchanged (an iPhone HEIC)', () => {
    const xmp = '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="13.4.1" xmp:MotionPhoto="1"/>';
    expect(withoutMotionPhotoXmp(xmp)).toEqual({ xmp, removed: false });
  });
});

describe.skipIf(!HAS_EXIFTOOL)('a Motion Photo HEIC converted to JPEG', () => {
  it('does not claim a video the JPEG does not carry (sample_MP.heic: MotionPhoto=1, video Length 28803)', async () => {
    const output = join(dir, 'sample_MP.jpg');
    const result = await convertHeicFile({ input: SAMPLE_MP, output, quality: 80, decoder: 'wasm', workDir: join(dir, 'work') });
    const tags = exiftool(output);
    expect(Object.keys(tags).filter((k) => /GCamera|Container|MicroVideo|MotionPhoto/.test(k))).toEqual([]);
    expect(result.metadata.xmp).toBe(true);
    expect(tags['XMP-x:XMPToolkit']).toBe('Adobe XMP Core 5.1.0-jc003');
    expect(result.warnings.join(' ')).toMatch(/Motion Photo/);
    expect(readFileSync(output).subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
  });
});
