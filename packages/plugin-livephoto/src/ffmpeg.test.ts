import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeStreams, resolveFfmpeg } from './ffmpeg.js';
import { TRAIN_MOV } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'keepsake-ffmpeg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probeStreams', () => {
  it('lists the Live Photo MOV streams: H.264 video, linear PCM audio, two metadata tracks', async () => {
    const streams = await probeStreams(resolveFfmpeg({ PATH: '/usr/bin' }), TRAIN_MOV);
    expect(streams.map((s) => [s.type, s.codec])).toEqual([
      ['video', 'h264'],
      ['audio', 'pcm_s16le'],
      ['data', 'none'],
      ['data', 'none'],
    ]);
  });

  it('rejects a file that is not a video', async () => {
    const junk = join(dir, 'junk.mov');
    writeFileSync(junk, 'not a movie at all');
    await expect(probeStreams(resolveFfmpeg({ PATH: '/usr/bin' }), junk)).rejects.toMatchObject({ code: 'VIDEO_UNREADABLE' });
  });
});
