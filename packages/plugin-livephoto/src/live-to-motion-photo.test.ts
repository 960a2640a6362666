import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from './ffmpeg.js';
import { headerSegments } from './jpeg-xmp.js';
import { createLivePair } from './live-pair.js';
import { createMovToMp4, MOV_TO_MP4_DEFAULTS } from './mov-to-mp4.js';
import { createLiveToMotionPhoto, LIVE_TO_MOTION_PHOTO_DEFAULTS, motionPhotoNameFor } from './live-to-motion-photo.js';
import { collect, exiftoolJson, ffprobeJson, fileResource, liveAsset, TRAIN_CONTENT_ID, TRAIN_JPG, TRAIN_MOV, tempContext } from './test-helpers.js';

const ffmpeg = resolveFfmpeg({ PATH: '/usr/bin' });
const noHeic = async () => undefined;
const contexts: ReturnType<typeof tempContext>[] = [];
function ctx() {
  const c = tempContext();
  contexts.push(c);
  return c;
}
afterEach(() => {
  for (const c of contexts.splice(0)) c.cleanup();
});

/** A copy of train.mov with its metadata stripped (no content.identifier, no creation date). */
function strippedMov(dir: string): string {
  const out = join(dir, 'stripped.mov');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', TRAIN_MOV, '-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', '-map_metadata', '-1', out]);
  return out;
}

describe('live-to-motion-photo', () => {
  it('names the output with the MP suffix the spec asks for', () => {
    expect(motionPhotoNameFor('IMG_0001.HEIC')).toBe('IMG_0001.MP.jpg');
    expect(motionPhotoNameFor('IMG_0001.JPG')).toBe('IMG_0001.MP.jpg');
  });

  it('turns the real train.jpg + train.mov into a Motion Photo that exiftool and ffprobe read', async () => {
    const c = ctx();
    const t = createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, LIVE_TO_MOTION_PHOTO_DEFAULTS);
    const out = await t.apply(liveAsset(), c);
    expect(out.resources.map((r) => `${r.role}:${r.name}:${r.mediaType}`)).toEqual(['derived:IMG_0001.MP.jpg:image/jpeg']);
    expect(out.contentIdentifier).toBe(TRAIN_CONTENT_ID);
    expect(out.history).toEqual(['IMG_0001.JPG', 'IMG_0001.MP.jpg']);

    const bytes = await collect(out.resources[0]!.open());
    const path = join(c.tempDir, 'IMG_0001.MP.jpg');
    writeFileSync(path, bytes);
    const x = exiftoolJson(path, '-struct', '-XMP-GCamera:all', '-XMP-Container:all', '-DateTimeOriginal', '-MediaGroupUUID', '-GPSLatitude');
    expect(x.MotionPhoto).toBe(1);
    expect(x.MotionPhotoVersion).toBe(1);
    // The still sits 0.48 s into the movie (still-image-time track with its edit list).
    expect(x.MotionPhotoPresentationTimestampUs).toBe(480000);
    const items = (x.Directory as { Item: { Mime: string; Semantic: string; Length: number; Padding: number } }[]).map((d) => d.Item);
    expect(items.map((i) => [i.Semantic, i.Mime, i.Padding])).toEqual([
      ['Primary', 'image/jpeg', 0],
      ['MotionPhoto', 'video/mp4', 0],
    ]);
    // The still's own metadata is untouched.
    expect(x.DateTimeOriginal).toBe('2021:04:10 11:44:00');
    // exiftool 12.57 calls MakerNote tag 0x0011 MediaGroupUUID.
    expect(x.MediaGroupUUID).toBe(TRAIN_CONTENT_ID);
    expect(typeof x.GPSLatitude).toBe('number');

    // Cut the video out the way readers do (EOF − Length) and play it with ffprobe.
    const length = items[1]!.Length;
    const video = bytes.subarray(bytes.length - length);
    expect(video.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const videoPath = join(c.tempDir, 'extracted.mp4');
    writeFileSync(videoPath, video);
    const probe = ffprobeJson(videoPath);
    const mov = ffprobeJson(TRAIN_MOV);
    expect(Number(probe.streams.find((s) => s.codec_type === 'video')!.duration)).toBeCloseTo(Number(mov.streams[0]!.duration), 2);
    expect(Number(probe.format.duration)).toBeGreaterThan(1.2);
    // The MP4's video starts at 0, so the 480000 µs timestamp means the same frame in the MP4 as in the MOV.
    expect(Number(probe.streams.find((s) => s.codec_type === 'video')!.start_time)).toBe(0);
    // ffmpeg decodes every frame of it without error.
    execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', videoPath, '-f', 'null', '-']);

    // The primary image is the original JPEG's scan data, unchanged.
    const original = await collect(fileResource(TRAIN_JPG, 'original').open());
    // Scan data starts where the header segments end (indexOf(FFDA) would hit the EXIF thumbnail).
    const sos = (b: Uint8Array) => headerSegments(b).at(-1)!.end;
    const primary = bytes.subarray(0, bytes.length - length);
    expect(primary.subarray(sos(primary)).equals(original.subarray(sos(original)))).toBe(true);
  });

  it('keeps still and MOV next to the Motion Photo with keep: both', async () => {
    const t = createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, { ...LIVE_TO_MOTION_PHOTO_DEFAULTS, keep: 'both' });
    const out = await t.apply(liveAsset(), ctx());
    expect(out.resources.map((r) => `${r.role}:${r.name}`)).toEqual(['original:IMG_0001.JPG', 'motion:IMG_0001.MOV', 'derived:IMG_0001.MP.jpg']);
  });

  it('refuses to fuse a still with a video whose ContentIdentifier differs', async () => {
    const c = ctx();
    // The real MOV with its Keys identifier overwritten (same length): it now claims another Live Photo.
    const other = join(c.tempDir, 'other.mov');
    const mov = readFileSync(TRAIN_MOV);
    const at = mov.lastIndexOf(Buffer.from(TRAIN_CONTENT_ID));
    expect(at).toBeGreaterThan(0);
    Buffer.from('11111111-2222-3333-4444-555555555555').copy(mov, at);
    writeFileSync(other, mov);
    const t = createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, LIVE_TO_MOTION_PHOTO_DEFAULTS);
    const input = liveAsset(TRAIN_JPG, other);
    const out = await t.apply(input, c);
    expect(out.resources).toEqual(input.resources);
    expect(out.diagnostics).toEqual([expect.objectContaining({ level: 'warning', source: 'livephoto:mismatch', message: expect.stringContaining('11111111-2222-3333-4444-555555555555') })]);
    expect(out.data?.livePhoto?.status).toBe('mismatch');
  });

  it('does not fuse when the MOV lost its ContentIdentifier and its date', async () => {
    const c = ctx();
    const out = await createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, LIVE_TO_MOTION_PHOTO_DEFAULTS).apply(liveAsset(TRAIN_JPG, strippedMov(c.tempDir)), c);
    expect(out.resources.map((r) => r.name)).toEqual(['IMG_0001.JPG', 'IMG_0001.MOV']);
    expect(out.diagnostics).toEqual([expect.objectContaining({ source: 'livephoto:unverified', message: expect.stringContaining('IMG_0001.MOV carries no ContentIdentifier') })]);
  });

  it('trusts an earlier live-pair result instead of reading the files again', async () => {
    const c = ctx();
    const paired = await createLivePair().apply(liveAsset(), c);
    expect(paired.data?.livePhoto).toMatchObject({ status: 'paired', method: 'content-identifier', stillImageTimeUs: 480000 });
    const out = await createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, LIVE_TO_MOTION_PHOTO_DEFAULTS).apply(paired, c);
    expect(out.resources.map((r) => r.name)).toEqual(['IMG_0001.MP.jpg']);
  });

  it('fails the read with HEIC_DECODER_MISSING when a HEIC still has no decoder', async () => {
    const c = ctx();
    const heicStill = { ...fileResource(TRAIN_JPG, 'original', 'IMG_0001.HEIC'), mediaType: 'image/heic' };
    const asset = { ...liveAsset(), resources: [heicStill, fileResource(TRAIN_MOV, 'motion', 'IMG_0001.MOV')] };
    const out = await createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, LIVE_TO_MOTION_PHOTO_DEFAULTS).apply(asset, c);
    await expect(collect(out.resources[0]!.open())).rejects.toMatchObject({ code: 'HEIC_DECODER_MISSING', hint: expect.stringContaining('@keepsake/plugin-heic') });
  });

  it('shares one conversion between sinks that read the same MOV at the same time', async () => {
    const c = ctx();
    const asset = liveAsset();
    const mov = asset.resources[1]!;
    let movOpens = 0;
    asset.resources[1] = {
      ...mov,
      open: (o) => {
        movOpens++;
        return mov.open(o);
      },
    };
    const motionPhoto = await createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, LIVE_TO_MOTION_PHOTO_DEFAULTS).apply(asset, c);
    const mp4 = await createMovToMp4(ffmpeg, MOV_TO_MP4_DEFAULTS).apply(asset, c);
    const reads = movOpens; // the pair check's small metadata reads
    const [a, b] = await Promise.all([collect(motionPhoto.resources[0]!.open()), collect(mp4.resources[1]!.open())]);
    expect(movOpens - reads).toBe(1);
    expect(a.subarray(a.length - b.length).equals(b)).toBe(true);
  });

  it('leaves plain photos and videos alone', async () => {
    const photo = { id: 'p', kind: 'photo' as const, resources: [fileResource(TRAIN_JPG, 'original')] };
    const t = createLiveToMotionPhoto({ ffmpeg, loadHeicToJpeg: noHeic }, LIVE_TO_MOTION_PHOTO_DEFAULTS);
    expect(await t.apply(photo, ctx())).toBe(photo);
  });
});
