import { sleep, throwIfAborted } from '@keepsake/core';

/** Counts requests in flight for one service; `acquire` waits (abortably) for a free slot. */
export class ConcurrencyLimiter {
  readonly #max: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError(`concurrency must be >= 1 (got ${max})`);
    this.#max = Math.floor(max);
  }

  get active(): number {
    return this.#active;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal);
    if (this.#active >= this.#max) {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.#waiting.indexOf(grant);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(signal?.reason ?? new Error('aborted'));
        };
        this.#waiting.push(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      }).catch(() => throwIfAborted(signal));
    } else {
      this.#active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // Hand the slot straight to the next waiter so the count never dips and overshoots.
      if (next) next();
      else this.#active--;
    };
  }
}

/**
 * Token bucket: `ratePerSecond` tokens refill continuously up to `burst`; each request takes one.
 * Keeps a service's request rate under its published limit instead of discovering it via 429s.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  readonly #now: () => number;
  #chain: Promise<void> = Promise.resolve();

  constructor(ratePerSecond: number, burst = Math.max(1, Math.ceil(ratePerSecond)), now: () => number = () => performance.now()) {
    if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0 (got ${ratePerSecond})`);
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  /** Resolves when a token was taken; waiting callers are served in order. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#chain.then(() => this.#takeOne(signal));
    // A caller that aborts must not block the ones behind it.
    this.#chain = turn.catch(() => {});
    return turn;
  }

  async #takeOne(signal?: AbortSignal): Promise<void> {
    for (;;) {
      throwIfAborted(signal);
      const now = this.#now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.#tokens) / this.#rate) * 1000), signal);
    }
  }
}
