import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from './ffmpeg.js';
import { convertToMp4, DEFAULT_MP4_OPTIONS, planMp4 } from './mp4-remux.js';
import { ffprobeJson } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'keepsake-mp4-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('planMp4', () => {
  const v = (codec: string) => ({ index: 0, type: 'video' as const, codec });
  const a = (codec: string) => ({ index: 1, type: 'audio' as const, codec });

  it('copies H.264 and AAC, maps only the first video and audio', () => {
    const p = planMp4([v('h264'), a('aac'), { index: 2, type: 'data', codec: 'none' }], 'in.mov', 'out.mp4', DEFAULT_MP4_OPTIONS);
    expect(p).toMatchObject({ videoCopied: true, audioCopied: true });
    expect(p.args.join(' ')).toBe('-y -i in.mov -map 0:v:0 -map 0:a:0 -c:v copy -c:a copy -map_metadata 0 -movflags +faststart+use_metadata_tags -f mp4 out.mp4');
  });

  it('tags HEVC as hvc1, transcodes linear PCM to AAC, and handles silent videos', () => {
    expect(planMp4([v('hevc'), a('pcm_s16le')], 'i', 'o', DEFAULT_MP4_OPTIONS).args.join(' ')).toContain('-c:v copy -tag:v hvc1 -c:a aac -b:a 192k');
    const silent = planMp4([v('h264')], 'i', 'o', DEFAULT_MP4_OPTIONS);
    expect(silent.args).not.toContain('0:a:0');
    expect(silent.audioCopied).toBeUndefined();
  });

  it('transcodes codecs MP4 players do not take, and everything in transcode mode', () => {
    expect(planMp4([v('prores'), a('aac')], 'i', 'o', DEFAULT_MP4_OPTIONS).args.join(' ')).toContain('-c:v libx264 -preset medium -crf 18 -pix_fmt yuv420p -c:a copy');
    expect(planMp4([v('h264'), a('aac')], 'i', 'o', { mode: 'transcode', crf: 23 })).toMatchObject({ videoCopied: false, audioCopied: false });
  });

  it('refuses a file without video', () => {
    expect(() => planMp4([a('aac')], 'in.mov', 'o', DEFAULT_MP4_OPTIONS)).toThrow(expect.objectContaining({ code: 'VIDEO_UNREADABLE' }));
  });
});

describe('convertToMp4 on HEVC', () => {
  it('copies an HEVC MOV into an MP4 tagged hvc1', async () => {
    const mov = join(dir, 'hevc.mov');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30:duration=1', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-c:a', 'aac', '-metadata', 'creation_time=2024-05-01T12:00:00Z', '-f', 'mov', mov]);
    const out = join(dir, 'hevc.mp4');
    const r = await convertToMp4(resolveFfmpeg({ PATH: '/usr/bin' }), mov, out, DEFAULT_MP4_OPTIONS);
    expect(r).toMatchObject({ videoCopied: true, audioCopied: true });
    const probe = ffprobeJson(out);
    expect(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}:${s.codec_tag_string}`)).toEqual(['video:hevc:hvc1', 'audio:aac:mp4a']);
    expect(probe.format.tags?.creation_time).toBe('2024-05-01T12:00:00.000000Z');
  });
});
