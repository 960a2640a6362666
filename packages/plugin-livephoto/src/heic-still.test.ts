import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from './ffmpeg.js';
import { loadHeicToJpeg } from './heic-still.js';
import { createLiveToMotionPhoto, LIVE_TO_MOTION_PHOTO_DEFAULTS } from './live-to-motion-photo.js';
import { collect, exiftoolJson, fileResource, TRAIN_CONTENT_ID, TRAIN_MOV, tempContext } from './test-helpers.js';

/** A real iPhone HEIC whose MakerNote carries a ContentIdentifier (its MOV is not in the fixtures). */
const HEIC = '/work/shared/fixtures/real/heic/IMG_2927.HEIC';
const HEIC_CONTENT_ID = '1745E022-9712-43C7-B024-F308EC6413CB';

const contexts: ReturnType<typeof tempContext>[] = [];
afterEach(() => {
  for (const c of contexts.splice(0)) c.cleanup();
});

describe('HEIC stills (via @keepsake/plugin-heic)', () => {
  it('loads the converter from the optional peer', async () => {
    expect(typeof (await loadHeicToJpeg({ PATH: '/usr/bin' }))).toBe('function');
  });

  it('builds a Motion Photo from a HEIC still: converted JPEG with its EXIF, Motion Photo XMP, MP4 at the end', async () => {
    const c = tempContext();
    contexts.push(c);
    // train.mov re-labelled with the HEIC's identifier (same length), so the pair is confirmed by ContentIdentifier.
    const mov = readFileSync(TRAIN_MOV);
    Buffer.from(HEIC_CONTENT_ID).copy(mov, mov.lastIndexOf(Buffer.from(TRAIN_CONTENT_ID)));
    const movPath = join(c.tempDir, 'IMG_2927.MOV');
    writeFileSync(movPath, mov);
    const asset = { id: 'IMG_2927', kind: 'live' as const, resources: [fileResource(HEIC, 'original', 'IMG_2927.HEIC'), fileResource(movPath, 'motion', 'IMG_2927.MOV')] };
    const t = createLiveToMotionPhoto({ ffmpeg: resolveFfmpeg({ PATH: '/usr/bin' }), loadHeicToJpeg: () => loadHeicToJpeg({ PATH: '/usr/bin' }) }, LIVE_TO_MOTION_PHOTO_DEFAULTS);
    const out = await t.apply(asset, c);
    expect(out.contentIdentifier).toBe(HEIC_CONTENT_ID);
    expect(out.resources.map((r) => r.name)).toEqual(['IMG_2927.MP.jpg']);
    const bytes = await collect(out.resources[0]!.open());
    const path = join(c.tempDir, 'IMG_2927.MP.jpg');
    writeFileSync(path, bytes);
    const x = exiftoolJson(path, '-struct', '-MotionPhoto', '-XMP-Container:Directory', '-FileType', '-ImageSize', '-DateTimeOriginal', '-MediaGroupUUID');
    const src = exiftoolJson(HEIC, '-ImageSize', '-DateTimeOriginal');
    expect(x.FileType).toBe('JPEG');
    expect(x.MotionPhoto).toBe(1);
    expect(x.ImageSize).toBe(src.ImageSize);
    expect(x.DateTimeOriginal).toBe(src.DateTimeOriginal);
    expect(x.MediaGroupUUID).toBe(HEIC_CONTENT_ID);
    const length = (x.Directory as { Item: { Length: number } }[])[1]!.Item.Length;
    expect(bytes.subarray(bytes.length - length + 4, bytes.length - length + 8).toString('latin1')).toBe('ftyp');
  });
});
