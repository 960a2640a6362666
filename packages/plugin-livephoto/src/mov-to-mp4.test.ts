import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from './ffmpeg.js';
import { createMovToMp4, MOV_TO_MP4_DEFAULTS, mp4NameFor } from './mov-to-mp4.js';
import { collect, ffprobeJson, fileResource, liveAsset, TRAIN_CONTENT_ID, TRAIN_MOV, tempContext } from './test-helpers.js';

const ffmpeg = resolveFfmpeg({ PATH: '/usr/bin' });
const contexts: ReturnType<typeof tempContext>[] = [];
function ctx() {
  const c = tempContext();
  contexts.push(c);
  return c;
}
afterEach(() => {
  for (const c of contexts.splice(0)) c.cleanup();
});

describe('mov-to-mp4', () => {
  it('names the output after the input', () => {
    expect(mp4NameFor('IMG_0001.MOV')).toBe('IMG_0001.MP4');
    expect(mp4NameFor('clip.mov')).toBe('clip.mp4');
  });

  it('replaces the MOV by a lazy MP4 that keeps duration, creation date and Apple keys', async () => {
    const c = ctx();
    const t = createMovToMp4(ffmpeg, MOV_TO_MP4_DEFAULTS);
    const source = fileResource(TRAIN_MOV, 'original', 'IMG_0001.MOV');
    let sourceOpens = 0;
    const counted = {
      ...source,
      open: (o?: Parameters<typeof source.open>[0]) => {
        sourceOpens++;
        return source.open(o);
      },
    };
    const asset = { id: 'v', kind: 'video' as const, resources: [counted] };
    const out = await t.apply(asset, c);
    expect(out).not.toBe(asset);
    expect(asset.resources).toHaveLength(1);
    expect(out.resources.map((r) => [r.role, r.name, r.mediaType, r.derivedFrom])).toEqual([['derived', 'IMG_0001.MP4', 'video/mp4', TRAIN_MOV]]);
    expect(out.history).toEqual(['IMG_0001.MOV', 'IMG_0001.MP4']);

    const bytes = await collect(out.resources[0]!.open());
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const path = join(c.tempDir, 'check.mp4');
    writeFileSync(path, bytes);
    const probe = ffprobeJson(path);
    const mov = ffprobeJson(TRAIN_MOV);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(['video:h264', 'audio:aac']);
    const videoOf = (p: typeof probe) => Number(p.streams.find((s) => s.codec_type === 'video')!.duration);
    expect(videoOf(probe)).toBeCloseTo(videoOf(mov), 2);
    expect(probe.format.tags?.creation_time).toBe(mov.format.tags?.creation_time);
    expect(probe.format.tags?.['com.apple.quicktime.creationdate']).toBe('2021-04-10T11:43:59+0100');
    expect(probe.format.tags?.['com.apple.quicktime.content.identifier']).toBe(TRAIN_CONTENT_ID);

    // A second open (retry, second sink) streams the same file from an offset without converting again.
    const tail = await collect(out.resources[0]!.open({ offset: bytes.length - 100 }));
    expect(tail.equals(bytes.subarray(bytes.length - 100))).toBe(true);
    expect(sourceOpens).toBe(1);
  });

  it('keeps the MOV next to the MP4 with keep: both, and leaves the Live Photo still first', async () => {
    const t = createMovToMp4(ffmpeg, { ...MOV_TO_MP4_DEFAULTS, keep: 'both' });
    const out = await t.apply(liveAsset(), ctx());
    expect(out.resources.map((r) => `${r.role}:${r.name}`)).toEqual(['original:IMG_0001.JPG', 'motion:IMG_0001.MOV', 'derived:IMG_0001.MP4']);
    expect(out.history).toBeUndefined();
  });

  it('transcodes to H.264 + AAC when asked, keeping the metadata', async () => {
    const c = ctx();
    // A small clip so the encode stays quick; metadata as an iPhone writes it.
    const mov = join(c.tempDir, 'small.mov');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30:duration=1', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:v', 'mpeg4', '-c:a', 'pcm_s16le', '-movflags', 'use_metadata_tags', '-metadata', `com.apple.quicktime.content.identifier=${TRAIN_CONTENT_ID}`, '-metadata', 'creation_time=2024-05-01T12:00:00Z', '-f', 'mov', mov]);
    const t = createMovToMp4(ffmpeg, { keep: 'converted', mode: 'transcode', crf: 30 });
    const out = await t.apply({ id: 'v', kind: 'video', resources: [fileResource(mov, 'original', 'IMG_0002.MOV')] }, c);
    const path = join(c.tempDir, 'transcoded.mp4');
    writeFileSync(path, await collect(out.resources[0]!.open()));
    const probe = ffprobeJson(path);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(['video:h264', 'audio:aac']);
    expect(probe.format.tags?.['com.apple.quicktime.content.identifier']).toBe(TRAIN_CONTENT_ID);
    expect(probe.format.tags?.creation_time).toMatch(/^2024-05-01T12:00:00/);
    expect(probe.format.tags?.creation_time).toBe(ffprobeJson(mov).format.tags?.creation_time);
  });

  it('leaves assets without QuickTime resources alone and encodes options in the version', async () => {
    const t = createMovToMp4(ffmpeg, MOV_TO_MP4_DEFAULTS);
    const photo = { id: 'p', kind: 'photo' as const, resources: [fileResource('/work/shared/fixtures/real/live-photo/train.jpg', 'original')] };
    expect(await t.apply(photo, ctx())).toBe(photo);
    expect(t.version).not.toBe(createMovToMp4(ffmpeg, { ...MOV_TO_MP4_DEFAULTS, crf: 20 }).version);
  });

  it('fails the read with a clear error when the MOV is damaged', async () => {
    const c = ctx();
    const bad = join(c.tempDir, 'bad.mov');
    writeFileSync(bad, Buffer.alloc(4096, 7));
    const out = await createMovToMp4(ffmpeg, MOV_TO_MP4_DEFAULTS).apply({ id: 'b', kind: 'video', resources: [fileResource(bad, 'original', 'BAD.MOV')] }, c);
    await expect(collect(out.resources[0]!.open())).rejects.toMatchObject({ code: 'VIDEO_UNREADABLE' });
  });
});
