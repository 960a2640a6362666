import { abortError, KeepsakeError } from '@keepsake/core';

type Input = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };

/**
 * Reads a password for `keepsake login`: from a pipe it is the first line of stdin
 * (`printf %s "$PW" | keepsake login email`), on a terminal it is typed without echo.
 */
export async function readPassword(stdin: Input, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  if (stdin.isTTY && typeof stdin.setRawMode === 'function') return readHidden(stdin, stderr, prompt);
  return readFirstLine(stdin);
}

async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin as AsyncIterable<string | Uint8Array>) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl >= 0) return text.slice(0, nl).replace(/\r$/, '');
    if (text.length > 64 * 1024) break;
  }
  if (text.length > 64 * 1024) throw new KeepsakeError('OPTION_INVALID', 'The password read from stdin is longer than 64 KiB', { hint: 'Pipe only the password.' });
  return text.replace(/\r$/, '');
}

function readHidden(stdin: Input, stderr: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(prompt);
    stdin.setRawMode!(true);
    stdin.resume();
    let typed = '';
    const done = (err: Error | undefined) => {
      stdin.setRawMode!(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string | Uint8Array) => {
      for (const ch of typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(undefined);
        if (ch === '\u0003') return done(abortError('Ctrl-C'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
