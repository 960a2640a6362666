import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirmYes } from './confirm.js';

/** A fake terminal: readline switches to raw key handling when input and output are TTYs. */
function terminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 80 });
  let shown = '';
  output.on('data', (d: Buffer) => (shown += d.toString()));
  return { input, output, shown: () => shown };
}

describe('confirmYes', () => {
  it('accepts only "yes"', async () => {
    const t = terminal();
    const asked = confirmYes(t, 'Delete them? ');
    t.input.write('yes\r');
    expect(await asked).toBe(true);
    const t2 = terminal();
    const asked2 = confirmYes(t2, 'Delete them? ');
    t2.input.write('y\r');
    expect(await asked2).toBe(false);
    expect(t2.shown()).toContain('Delete them? ');
  });

  it('Ctrl-C at the prompt answers no and reports the interrupt instead of hanging', async () => {
    const t = terminal();
    let interrupted = 0;
    const asked = confirmYes({ ...t, onInterrupt: () => interrupted++ }, 'Delete them? ');
    t.input.write('\x03');
    expect(await asked).toBe(false);
    expect(interrupted).toBe(1);
  });

  it('a Ctrl-C that came before the question answers no without asking', async () => {
    const t = terminal();
    const ac = new AbortController();
    ac.abort();
    expect(await confirmYes({ ...t, signal: ac.signal }, 'Delete them? ')).toBe(false);
    expect(t.shown()).not.toContain('Delete them?');
  });

  it('an abort from elsewhere (SIGTERM) answers no', async () => {
    const t = terminal();
    const ac = new AbortController();
    const asked = confirmYes({ ...t, signal: ac.signal }, 'Delete them? ');
    ac.abort();
    expect(await asked).toBe(false);
  });
});
