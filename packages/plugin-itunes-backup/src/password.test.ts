import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defaultBackupRoots } from './backup-locations.js';
import { promptHidden, resolvePassword } from './password.js';

/** A fake terminal: a stream with isTTY and setRawMode, recording raw-mode changes. */
function fakeTty() {
  const input = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, modes: [] as boolean[] });
  (input as unknown as { setRawMode(m: boolean): void }).setRawMode = (m: boolean) => {
    input.isRaw = m;
    input.modes.push(m);
  };
  const output = new PassThrough();
  let shown = '';
  output.on('data', (c) => {
    shown += c.toString();
  });
  return { input, output, shown: () => shown };
}

describe('backup password', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keepsake-pw-'));

  it('reads the first line of passwordFile, relative to the config folder', async () => {
    writeFileSync(join(dir, 'pw'), 'sesame \r\nsecond line\n');
    expect(await resolvePassword({ passwordFile: 'pw', baseDir: dir, env: { KEEPSAKE_BACKUP_PASSWORD: 'env' }, label: 'x' })).toBe('sesame ');
  });

  it('drops the byte-order mark Windows editors put at the start of a UTF-8 file', async () => {
    // Notepad's "UTF-8 with BOM" writes EF BB BF first; it is not part of the password.
    writeFileSync(join(dir, 'pw-bom'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('pässword\r\n')]));
    expect(await resolvePassword({ passwordFile: 'pw-bom', baseDir: dir, env: {}, label: 'x' })).toBe('pässword');
  });

  it('refuses an empty or unreadable passwordFile with OPTION_INVALID', async () => {
    writeFileSync(join(dir, 'empty'), '\n');
    await expect(resolvePassword({ passwordFile: 'empty', baseDir: dir, env: {}, label: 'x' })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
    await expect(resolvePassword({ passwordFile: 'missing', baseDir: dir, env: {}, label: 'x' })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
  });

  it('falls back to KEEPSAKE_BACKUP_PASSWORD, then a terminal, then nothing', async () => {
    expect(await resolvePassword({ baseDir: dir, env: { KEEPSAKE_BACKUP_PASSWORD: 'from env' }, label: 'x' })).toBe('from env');
    expect(await resolvePassword({ baseDir: dir, env: {}, label: 'x' })).toBeUndefined();
    const tty = fakeTty();
    const p = resolvePassword({ baseDir: dir, env: {}, label: 'My iPhone', tty: { input: tty.input as unknown as NodeJS.ReadStream, output: tty.output } });
    tty.input.write('typed\r');
    expect(await p).toBe('typed');
    expect(tty.shown()).toContain('My iPhone');
  });

  it('prompts without echo, handles backspace, restores the terminal, and cancels on Ctrl-C', async () => {
    const tty = fakeTty();
    const p = promptHidden('Password: ', tty.input as unknown as NodeJS.ReadStream, tty.output);
    tty.input.write('pass');
    tty.input.write('x\u007fword\n');
    expect(await p).toBe('password');
    expect(tty.shown()).toBe('Password: \n');
    expect(tty.input.modes).toEqual([true, false]);
    const tty2 = fakeTty();
    const q = promptHidden('Password: ', tty2.input as unknown as NodeJS.ReadStream, tty2.output);
    tty2.input.write('ab\u0003');
    await expect(q).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tty2.input.modes).toEqual([true, false]);
  });
});

describe('standard backup folders', () => {
  it('knows both Windows locations and the macOS one', () => {
    expect(defaultBackupRoots({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming', USERPROFILE: 'C:\\Users\\a' }, 'win32')).toEqual([
      'C:\\Users\\a\\AppData\\Roaming\\Apple Computer\\MobileSync\\Backup',
      'C:\\Users\\a\\Apple\\MobileSync\\Backup',
    ]);
    expect(defaultBackupRoots({ HOME: '/Users/a' }, 'darwin')).toEqual(['/Users/a/Library/Application Support/MobileSync/Backup']);
    expect(defaultBackupRoots({ HOME: '/home/a' }, 'linux')).toEqual([]);
  });
});
