import { createInterface } from 'node:readline/promises';

/**
 * Asks a yes/no question in a terminal; only "yes" counts. In a terminal readline reads raw keys,
 * so Ctrl-C arrives as a key, not as SIGINT to the process: without handling it here the prompt
 * would just pause and hang. Ctrl-C (or `signal`) answers "no" and calls `onInterrupt`.
 */
export async function confirmYes(
  o: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; signal?: AbortSignal; onInterrupt?(): void },
  question: string,
): Promise<boolean> {
  if (o.signal?.aborted) return false; // Ctrl-C came before the question
  const rl = createInterface({ input: o.input, output: o.output });
  const interrupted = new AbortController();
  rl.once('SIGINT', () => {
    o.onInterrupt?.();
    interrupted.abort();
  });
  const signal = o.signal ? AbortSignal.any([o.signal, interrupted.signal]) : interrupted.signal;
  try {
    const answer = await rl.question(question, { signal });
    return answer.trim().toLowerCase() === 'yes';
  } catch (err) {
    if (signal.aborted) {
      o.output.write('\n');
      return false;
    }
    throw err;
  } finally {
    rl.close();
  }
}
