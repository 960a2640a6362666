import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStillFacts } from './media-facts.js';
import { fileResource, TRAIN_JPG } from './test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'keepsake-stillfacts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** train.jpg with its EXIF date tags rewritten by exiftool (the independent writer; `#=` writes a value unconverted). */
function trainWith(name: string, ...args: string[]): string {
  const path = join(dir, name);
  copyFileSync(TRAIN_JPG, path);
  execFileSync('exiftool', ['-q', '-overwrite_original', ...args, path]);
  return path;
}

describe('readStillFacts capture time', () => {
  it('train.jpg: DateTimeOriginal + SubSecTimeOriginal + OffsetTimeOriginal', async () => {
    expect((await readStillFacts(fileResource(TRAIN_JPG, 'original'))).captured).toEqual({
      local: '2021-04-10T11:44:00.814',
      instantMs: Date.parse('2021-04-10T11:44:00.814+01:00'),
    });
  });

  it('a zeroed DateTimeOriginal falls back to CreateDate with its own sub-seconds and offset', async () => {
    const path = trainWith('zero-dto.jpg', '-DateTimeOriginal#=0000:00:00 00:00:00', '-OffsetTimeOriginal=', '-SubSecTimeOriginal=');
    expect((await readStillFacts(fileResource(path, 'original'))).captured).toEqual({
      local: '2021-04-10T11:44:00.814',
      instantMs: Date.parse('2021-04-10T11:44:00.814+01:00'),
    });
  });

  it('no OffsetTimeOriginal: the OffsetTime of the same capture gives the instant', async () => {
    const path = trainWith('no-oto.jpg', '-OffsetTimeOriginal=', '-OffsetTimeDigitized=', '-OffsetTime=+01:00');
    expect((await readStillFacts(fileResource(path, 'original'))).captured?.instantMs).toBe(Date.parse('2021-04-10T11:44:00.814+01:00'));
  });
});
