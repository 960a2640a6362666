import { describe, expect, it } from 'vitest';
import { importIntoPhotos, mapOsascriptError, PHOTOS_IMPORT_SCRIPT, photosImportArgs, type RunOsascript } from './photos-import.js';

const signal = new AbortController().signal;

describe('Photos.app import through osascript', () => {
  it('passes a fixed script and every path as an argument, never inside the source', () => {
    const files = ['/Users/ana/Library/keepsake/IMG_0001 "quoted" \\ odd.HEIC', '/Users/ana/Library/keepsake/IMG_0001.MOV'];
    const args = photosImportArgs(files, '-Trip "2024"');
    const script = args.filter((_, i) => args[i - 1] === '-e');
    expect(script).toEqual(PHOTOS_IMPORT_SCRIPT);
    expect(script.join('\n')).not.toContain('IMG_0001');
    expect(args.slice(PHOTOS_IMPORT_SCRIPT.length * 2)).toEqual(['album=-Trip "2024"', ...files]);
    expect(script.join('\n')).toContain('with skip check duplicates');
    expect(photosImportArgs(['/a.JPG'], undefined).at(-2)).toBe('album=');
    expect(() => photosImportArgs(['relative.JPG'], undefined)).toThrow(/absolute/);
    expect(() => photosImportArgs(['/a\n.JPG'], undefined)).toThrow(/control/);
  });

  it('imports a Live Photo pair in one call and returns the ids Photos printed', async () => {
    const calls: string[][] = [];
    const run: RunOsascript = async (args) => {
      calls.push(args);
      return { stdout: 'ABC-123/L0/001\n', stderr: '' };
    };
    const ids = await importIntoPhotos(['/s/IMG_1.HEIC', '/s/IMG_1.MOV'], 'keepsake 2024', run, signal);
    expect(ids).toEqual(['ABC-123/L0/001']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.slice(-3)).toEqual(['album=keepsake 2024', '/s/IMG_1.HEIC', '/s/IMG_1.MOV']);
  });

  it('treats an import that returns no item as a failure', async () => {
    await expect(importIntoPhotos(['/s/x.JPG'], undefined, async () => ({ stdout: '\n', stderr: '' }), signal)).rejects.toMatchObject({
      code: 'ICLOUD_IMPORT_EMPTY',
    });
  });

  it('explains the errors people hit', () => {
    const f = ['/s/x.JPG'];
    expect(mapOsascriptError({ stderr: 'execution error: Not authorized to send Apple events to Photos. (-1743)' }, f)).toMatchObject({
      code: 'ICLOUD_AUTOMATION_DENIED',
      classification: 'fatal',
    });
    expect(mapOsascriptError({ stderr: "execution error: Photos got an error: Application isn't running. (-600)" }, f).code).toBe('ICLOUD_PHOTOS_UNAVAILABLE');
    expect(mapOsascriptError({ stderr: 'Photos got an error: AppleEvent timed out. (-1712)' }, f)).toMatchObject({ code: 'TIMEOUT', classification: 'retryable' });
    expect(mapOsascriptError({ killed: true, stderr: '' }, f).code).toBe('TIMEOUT');
    expect(mapOsascriptError({ code: 'ENOENT' }, f).code).toBe('NOT_SUPPORTED');
    expect(mapOsascriptError({ stderr: 'unrecognizable file format' }, f)).toMatchObject({ code: 'SINK_WRITE_FAILED', classification: 'permanent' });
  });
});
