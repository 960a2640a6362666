import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from './ffmpeg-locate.js';

const dir = mkdtempSync(join(tmpdir(), 'keepsake-ffmpeg-locate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveFfmpeg', () => {
  it('uses FFMPEG_PATH when it names an executable', () => {
    const fake = join(dir, 'my-ffmpeg');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    expect(resolveFfmpeg({ FFMPEG_PATH: fake, PATH: '' })).toEqual({ path: fake, origin: 'FFMPEG_PATH' });
  });

  it('fails with FFMPEG_NOT_FOUND when FFMPEG_PATH points nowhere, instead of falling back', () => {
    const missing = join(dir, 'nope', 'ffmpeg');
    let err: unknown;
    try {
      resolveFfmpeg({ FFMPEG_PATH: missing, PATH: '/usr/bin' });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'FFMPEG_NOT_FOUND', classification: 'fatal' });
    expect((err as Error).message).toContain(missing);
    expect((err as { hint: string }).hint).toMatch(/apt install ffmpeg/);
  });

  it('uses ffmpeg-static when its binary was really downloaded, and skips it when not', () => {
    const fake = join(dir, 'ffmpeg-static-bin');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    const requiring = (path: string) => (id: string) => {
      if (id !== 'ffmpeg-static') throw new Error(`unexpected ${id}`);
      return path;
    };
    expect(resolveFfmpeg({ PATH: '/usr/bin' }, requiring(fake))).toEqual({ path: fake, origin: 'ffmpeg-static' });
    // Installed without its postinstall download: the exported path does not exist.
    expect(resolveFfmpeg({ PATH: '/usr/bin' }, requiring(join(dir, 'never-downloaded')))).toEqual({ path: '/usr/bin/ffmpeg', origin: 'PATH' });
    // FFMPEG_PATH still wins.
    expect(resolveFfmpeg({ PATH: '/usr/bin', FFMPEG_PATH: '/usr/bin/ffmpeg' }, requiring(fake)).origin).toBe('FFMPEG_PATH');
  });

  it('finds ffmpeg on PATH', () => {
    const found = resolveFfmpeg({ PATH: `${join(dir, 'empty')}:/usr/bin` });
    expect(found).toEqual({ path: '/usr/bin/ffmpeg', origin: 'PATH' });
  });

  it('explains what to install when nothing is found', () => {
    expect(() => resolveFfmpeg({ PATH: join(dir, 'empty') })).toThrow(expect.objectContaining({ code: 'FFMPEG_NOT_FOUND', hint: expect.stringContaining('FFMPEG_PATH') }));
  });
});
