/**
 * Live Photos through the real CLI: folder source → three folder sinks in one run — originals as
 * they are, a "Google Photos" folder with live-to-motion-photo, an "MP4 only" folder with
 * mov-to-mp4 — on the real train.jpg + train.mov pair, plus a mismatched pair that must not be fused.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportOf, runCli } from './helpers/cli.ts';
import { writeJson } from './helpers/files.ts';
import { tempDirs } from './helpers/temp.ts';
import { listFiles as listAbsolute, sha256File } from './helpers/tree.ts';

const FIXTURES = '/work/shared/fixtures/real/live-photo';
const TRAIN_ID = 'E905E6C6-C747-4805-942F-9904A0281F02';
const OTHER_ID = 'AAAAAAAA-2222-3333-4444-555555555555';

const dirs = tempDirs();
const listFiles = async (root: string) => (await listAbsolute(root)).map((p) => relative(root, p));
let dir: string;
let env: NodeJS.ProcessEnv;

function ffprobe(path: string): { format: { duration: string; tags?: Record<string, string> }; streams: { codec_type: string; duration?: string }[] } {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path], { encoding: 'utf8' }));
}
const videoDuration = (path: string) => Number(ffprobe(path).streams.find((s) => s.codec_type === 'video')!.duration);

beforeAll(async () => {
  dir = await dirs.make('livephoto-');
  env = { KEEPSAKE_DATA_DIR: join(dir, 'data'), KEEPSAKE_CONFIG_DIR: join(dir, 'config') };
  const input = join(dir, 'in');
  await mkdir(input);
  await copyFile(join(FIXTURES, 'train.jpg'), join(input, 'IMG_0001.JPG'));
  await copyFile(join(FIXTURES, 'train.mov'), join(input, 'IMG_0001.MOV'));
  // IMG_0002: the same still, with a video that claims another Live Photo (identifier overwritten in place).
  await copyFile(join(FIXTURES, 'train.jpg'), join(input, 'IMG_0002.JPG'));
  const mov = readFileSync(join(FIXTURES, 'train.mov'));
  Buffer.from(OTHER_ID).copy(mov, mov.lastIndexOf(Buffer.from(TRAIN_ID)));
  await writeFile(join(input, 'IMG_0002.MOV'), mov);
  for (const d of ['originals', 'google', 'mp4']) await mkdir(join(dir, d));
  const folder = (path: string) => ({ use: 'folder', with: { path, template: '{yyyy}' } });
  await writeJson(join(dir, 'keepsake.config.json'), {
    ledger: 'ledger.db',
    pipelines: {
      live: {
        source: { use: 'folder', with: { path: 'in' } },
        transforms: [{ use: 'live-pair' }],
        sinks: [
          folder('originals'),
          { ...folder('google'), transforms: [{ use: 'live-to-motion-photo' }] },
          { ...folder('mp4'), transforms: [{ use: 'mov-to-mp4' }] },
        ],
      },
    },
  });
});
afterAll(() => dirs.cleanup());

describe('Live Photos end to end', () => {
  let stderr = '';

  it('delivers originals, a Motion Photo and an MP4 variant in one run', async () => {
    const r = await runCli(['run', '--json'], { cwd: dir, env });
    stderr = r.stderr;
    expect(r.code, r.stderr).toBe(0);
    expect(reportOf(r.stdout)).toMatchObject({ assets: 2, failed: 0 });
    expect(await listFiles(join(dir, 'originals'))).toEqual(['2021/IMG_0001.JPG', '2021/IMG_0001.MOV', '2021/IMG_0002.JPG', '2021/IMG_0002.MOV']);
    expect(await sha256File(join(dir, 'originals/2021/IMG_0001.MOV'))).toBe(await sha256File(join(FIXTURES, 'train.mov')));
    // The mismatched pair is not fused: its still and video arrive separately.
    expect(await listFiles(join(dir, 'google'))).toEqual(['2021/IMG_0001.MP.jpg', '2021/IMG_0002.JPG', '2021/IMG_0002.MOV']);
    expect(await listFiles(join(dir, 'mp4'))).toEqual(['2021/IMG_0001.JPG', '2021/IMG_0001.MP4', '2021/IMG_0002.JPG', '2021/IMG_0002.MP4']);
  });

  it('wrote a Motion Photo that exiftool reads and whose trailing MP4 plays for the MOV duration', async () => {
    const path = join(dir, 'google/2021/IMG_0001.MP.jpg');
    const x = JSON.parse(execFileSync('exiftool', ['-j', '-n', '-struct', '-MotionPhoto', '-MotionPhotoVersion', '-MotionPhotoPresentationTimestampUs', '-MicroVideo', '-XMP-Container:Directory', path], { encoding: 'utf8' }))[0];
    expect(x).toMatchObject({ MotionPhoto: 1, MotionPhotoVersion: 1, MotionPhotoPresentationTimestampUs: 480000 });
    const length = x.Directory[1].Item.Length as number;
    const bytes = await readFile(path);
    const video = join(dir, 'extracted.mp4');
    await writeFile(video, bytes.subarray(bytes.length - length));
    expect(videoDuration(video)).toBeCloseTo(videoDuration(join(FIXTURES, 'train.mov')), 2);
  });

  it('kept the creation date and Apple keys in the MP4', () => {
    const tags = ffprobe(join(dir, 'mp4/2021/IMG_0001.MP4')).format.tags ?? {};
    expect(tags.creation_time).toBe('2021-04-10T10:44:00.000000Z');
    expect(tags['com.apple.quicktime.creationdate']).toBe('2021-04-10T11:43:59+0100');
    expect(tags['com.apple.quicktime.content.identifier']).toBe(TRAIN_ID);
  });

  it('reported the mismatch instead of guessing', () => {
    // The pipeline's report lists source diagnostics only, so the plugin also logs what it finds.
    const line = stderr.split('\n').find((l) => l.includes('livephoto:mismatch'));
    expect(line).toContain('IMG_0002');
    expect(line).toContain(OTHER_ID);
  });

  it('converts nothing again on a rerun', async () => {
    const r = await runCli(['run', '--json'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(reportOf(r.stdout)).toMatchObject({ copied: 0, failed: 0 });
  });

  it('stops before any bytes move when ffmpeg cannot be found', async () => {
    const fresh = await dirs.make('livephoto-noffmpeg-');
    await mkdir(join(fresh, 'in'));
    await mkdir(join(fresh, 'out'));
    await copyFile(join(FIXTURES, 'train.jpg'), join(fresh, 'in/IMG_0001.JPG'));
    await copyFile(join(FIXTURES, 'train.mov'), join(fresh, 'in/IMG_0001.MOV'));
    await writeJson(join(fresh, 'keepsake.config.json'), {
      ledger: 'ledger.db',
      pipelines: { p: { source: { use: 'folder', with: { path: 'in' } }, sinks: [{ use: 'folder', with: { path: 'out' }, transforms: [{ use: 'live-to-motion-photo' }] }] } },
    });
    const missing = join(fresh, 'no-such-ffmpeg');
    const r = await runCli(['run'], { cwd: fresh, env: { ...env, FFMPEG_PATH: missing } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FFMPEG_NOT_FOUND');
    expect(r.stderr).toContain(missing);
    expect(await listFiles(join(fresh, 'out'))).toEqual([]);
  });
});
