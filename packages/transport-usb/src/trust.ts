/**
 * The trust flow: pairing needs a person to unlock the phone and tap "Trust". Instead of failing
 * with a code, keep asking (with a deadline) and tell them what to do.
 */
import { isKeepsakeError, KeepsakeError, sleep } from '@keepsake/core';
import { TRUST_WAIT_CODES } from './lockdown-errors.js';

export interface WaitForTrustOptions {
  /** Give up after this long (default 120 s). 0 = try once. */
  timeoutMs?: number;
  /** Pause between attempts (default 1 s). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called with a plain-language message each time the phone's state changes. */
  onProgress?(message: string): void;
}

/** Runs `attempt` until it stops failing with DEVICE_TRUST_PENDING / DEVICE_LOCKED, or time runs out. */
export async function waitForTrust<T>(attempt: () => Promise<T>, options: WaitForTrustOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const intervalMs = options.intervalMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  let lastCode: string | undefined;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!isKeepsakeError(err) || !TRUST_WAIT_CODES.has(err.code)) throw err;
      if (err.code !== lastCode) {
        lastCode = err.code;
        options.onProgress?.(`${err.message}. ${err.hint ?? ''} Waiting…`.trim());
      }
      if (Date.now() + intervalMs > deadline) {
        throw new KeepsakeError(err.code, `${err.message}, and nobody answered within ${Math.round(timeoutMs / 1000)} s`, {
          hint: err.hint,
          cause: err,
          classification: 'permanent',
          pluginCode: err.pluginCode,
        });
      }
      await sleep(intervalMs, options.signal);
    }
  }
}
