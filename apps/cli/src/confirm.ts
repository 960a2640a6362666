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
  const ac = new AbortController();
  const stop = () => ac.abort();
  rl.once('SIGINT', () => {
    o.onInterrupt?.();
    stop();
  });
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    const answer = await rl.question(question, { signal: ac.signal });
    return answer.trim().toLowerCase() === 'yes';
  } catch (err) {
    if (ac.signal.aborted) {
      o.output.write('\n');
      return false;
    }
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', stop);
    rl.close();
  }
}
