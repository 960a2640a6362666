import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter, TokenBucket } from './limits.js';

describe('ConcurrencyLimiter', () => {
  it('never lets more than max run at once and serves waiters in order', async () => {
    const limiter = new ConcurrencyLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await limiter.acquire();
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        release();
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(limiter.active).toBe(0);
  });
  it('a waiter that aborts leaves the queue', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const release = await limiter.acquire();
    const ac = new AbortController();
    const waiting = limiter.acquire(ac.signal);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    release();
    const again = await limiter.acquire();
    expect(limiter.active).toBe(1);
    again();
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then paces at the rate (fake clock)', async () => {
    let t = 0;
    const bucket = new TokenBucket(10, 2, () => t);
    await bucket.take();
    await bucket.take();
    // Third take must wait ~100 ms of (fake) time; advance the clock while it sleeps.
    let done = false;
    const p = bucket.take().then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    t += 100;
    await p;
    expect(done).toBe(true);
  });
});
