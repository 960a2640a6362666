import { readFile } from 'node:fs/promises';
import { abortError, KeepsakeError, resolveUserPath } from '@keepsake/core';

export const PASSWORD_ENV = 'KEEPSAKE_BACKUP_PASSWORD';

export interface PasswordSources {
  passwordFile?: string | undefined;
  /** Relative `passwordFile` paths resolve from here (the config file's folder). */
  baseDir: string;
  env: NodeJS.ProcessEnv;
  /** Terminal to ask on; omitted or not a TTY means no prompt. */
  tty?: { input: NodeJS.ReadStream; output: NodeJS.WritableStream } | undefined;
  label: string;
}

/**
 * The backup password, from (in order) `passwordFile` (its first line), env
 * KEEPSAKE_BACKUP_PASSWORD, or a no-echo prompt on a terminal. `undefined` when none is available.
 */
export async function resolvePassword(src: PasswordSources): Promise<string | undefined> {
  if (src.passwordFile) {
    const file = resolveUserPath(src.baseDir, src.passwordFile);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new KeepsakeError('OPTION_INVALID', `passwordFile ${file} cannot be read: ${(err as Error).message}`, {
        location: file,
        cause: err,
        classification: 'fatal',
        hint: 'Fix option `passwordFile` (a file whose first line is the backup password).',
      });
    }
    // A UTF-8 byte-order mark (Windows editors) is not part of the password.
    const first = text.replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '';
    if (first === '') {
      throw new KeepsakeError('OPTION_INVALID', `passwordFile ${file} is empty`, { location: file, classification: 'fatal', hint: 'Put the backup password on its first line.' });
    }
    return first;
  }
  const fromEnv = src.env[PASSWORD_ENV];
  if (fromEnv) return fromEnv;
  if (src.tty?.input.isTTY) return promptHidden(`Password for encrypted backup ${src.label}: `, src.tty.input, src.tty.output);
  return undefined;
}

/** Asks on a terminal without echoing what is typed. Ctrl-C cancels, Backspace works. */
export function promptHidden(question: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const wasRaw = input.isRaw;
    let answer = '';
    output.write(question);
    input.setRawMode?.(true);
    input.resume();
    const finish = (err?: unknown) => {
      input.off('data', onData);
      input.setRawMode?.(wasRaw ?? false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolvePromise(answer);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || ch === '\u0004') return finish(abortError('password prompt cancelled'));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    input.on('data', onData);
  });
}
