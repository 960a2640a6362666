import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { type CommandContext, createFileSecretStore, silentLogger } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { emailSink } from './index.js';
import { EMAIL_DEFAULTS, type EmailOptions } from './options.js';
import { readPassword } from './password-input.js';
import { startTestSmtp } from './test-support.js';

function commandContext(stdin: CommandContext['stdin']): CommandContext & { args: string[]; out: () => string } {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => {
    out += String(d);
  });
  const secrets = createFileSecretStore(join(mkdtempSync(join(tmpdir(), 'ks-email-')), 'secrets.json'));
  return {
    logger: silentLogger,
    secrets,
    storageDir: tmpdir(),
    configDir: tmpdir(),
    signal: new AbortController().signal,
    env: {},
    stdin,
    stdout,
    stderr: new PassThrough(),
    interactive: false,
    args: [],
    out: () => out,
  };
}

describe('readPassword', () => {
  it('takes the first line from a pipe', async () => {
    expect(await readPassword(Readable.from(['pa', 'ss wörd\r\nignored\n']), new PassThrough(), '')).toBe('pass wörd');
    expect(await readPassword(Readable.from(['no-newline']), new PassThrough(), '')).toBe('no-newline');
  });

  it('reads without echo on a TTY, honouring backspace', async () => {
    const tty = Object.assign(new PassThrough({ encoding: 'utf8' }), { isTTY: true, rawModes: [] as boolean[], setRawMode(this: { rawModes: boolean[] }, m: boolean) { this.rawModes.push(m); } });
    const stderr = new PassThrough();
    let shown = '';
    stderr.on('data', (d) => {
      shown += String(d);
    });
    const p = readPassword(tty, stderr, 'Password: ');
    tty.write('secrx\u007ft\r');
    expect(await p).toBe('secrt');
    expect(tty.rawModes).toEqual([true, false]);
    expect(shown).toBe('Password: \n');
  });
});

describe('keepsake login/logout email', () => {
  it('checks the password against the server, stores it only when it works, and logout forgets it', async () => {
    const server = await startTestSmtp({ size: 1_000_000 });
    try {
      const options: EmailOptions = { ...EMAIL_DEFAULTS, host: '127.0.0.1', port: server.port, requireTLS: false, user: 'alice', to: 'bob@example.com', timeoutSeconds: 5 };
      const bad = commandContext(Readable.from(['wrong\n']));
      await expect(emailSink.login!(options, bad)).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
      expect(await bad.secrets.get('email:alice@127.0.0.1')).toBeUndefined();

      const good = commandContext(Readable.from(['s3cret\n']));
      await emailSink.login!(options, good);
      expect(await good.secrets.get('email:alice@127.0.0.1')).toBe('s3cret');
      expect(good.out()).toContain('Signed in to 127.0.0.1 as alice');
      // create() finds the stored password; without one it refuses before any bytes move
      await expect(emailSink.create(options, good)).resolves.toBeDefined();
      await emailSink.logout!(options, good);
      expect(await good.secrets.get('email:alice@127.0.0.1')).toBeUndefined();
      await expect(emailSink.create(options, good)).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
    } finally {
      await server.close();
    }
  });
});
