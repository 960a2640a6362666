import { abortError, isAbortError, isKeepsakeError, KeepsakeError } from './errors.js';

export interface RetryOptions {
  /** Attempts in total, including the first (default 5). */
  attempts?: number;
  /** Base delay for full-jitter exponential backoff (default 500 ms). */
  baseMs?: number;
  /** Cap for one backoff delay (default 30 s). */
  maxMs?: number;
  /**
   * Longest `Retry-After` worth waiting for inside a run (default 5 min). Longer: the error is
   * rethrown as a fatal RATE_LIMITED saying when to run again — progress is already saved.
   */
  maxHintMs?: number;
  signal?: AbortSignal;
  /** Called before each wait; `retryAfterMs` from the error wins over backoff. */
  onRetry?(info: { attempt: number; delayMs: number; error: unknown }): void;
  /** Which errors to retry (default: KeepsakeErrors classified `retryable`). */
  shouldRetry?(error: unknown): boolean;
  random?: () => number;
}

/** Full-jitter exponential backoff: uniform in [0, min(max, base·2^attempt)]. */
export function backoffDelay(attempt: number, baseMs = 500, maxMs = 30_000, random = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/** Runs `fn` until it succeeds, a non-retryable error is thrown, attempts run out, or the signal aborts. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const shouldRetry = options.shouldRetry ?? ((e) => isKeepsakeError(e) && e.classification === 'retryable');
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw abortError(options.signal.reason);
    try {
      return await fn(attempt);
    } catch (err) {
      // only our own signal means "cancelled"; an AbortError from a plugin's own timer is an error
      if ((isAbortError(err) && options.signal?.aborted) || attempt + 1 >= attempts || !shouldRetry(err)) throw err;
      const hinted = isKeepsakeError(err) ? err.retryAfterMs : undefined;
      if (hinted !== undefined && hinted > (options.maxHintMs ?? 300_000)) {
        const at = new Date(Date.now() + hinted);
        throw new KeepsakeError('RATE_LIMITED', `The service asked to wait ${Math.round(hinted / 60_000)} minutes before trying again`, {
          cause: err,
          classification: 'fatal',
          retryAfterMs: hinted,
          hint: `Progress is saved; run again after ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
        });
      }
      const delayMs = hinted ?? backoffDelay(attempt, options.baseMs, options.maxMs, options.random);
      options.onRetry?.({ attempt: attempt + 1, delayMs, error: err });
      await sleep(delayMs, options.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal.reason));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
