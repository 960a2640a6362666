import { describe, expect, it } from 'vitest';
import { groupCommit } from './dir-sync.js';

/** A fake fsync that records when each sync starts and finishes only when told to. */
function fakeSync() {
  const started: { key: string; at: number; finish: () => void; fail: (e: Error) => void }[] = [];
  let clock = 0;
  const syncOne = (key: string) =>
    new Promise<void>((resolve, reject) => {
      started.push({ key, at: clock++, finish: resolve, fail: reject });
    });
  return { started, syncOne, tick: () => clock++ };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('groupCommit', () => {
  it('callers arriving during a sync share the next one, which starts after them', async () => {
    const f = fakeSync();
    const sync = groupCommit(f.syncOne);
    const done: string[] = [];
    const a = sync('/d').then(() => done.push('a'));
    expect(f.started).toHaveLength(1);
    // b, c, d renamed after sync #1 started: #1 may not cover them
    const b = sync('/d').then(() => done.push('b'));
    const c = sync('/d').then(() => done.push('c'));
    const d = sync('/d').then(() => done.push('d'));
    await flush();
    expect(f.started).toHaveLength(1);
    f.started[0]!.finish();
    await a;
    await flush();
    expect(done).toEqual(['a']);
    expect(f.started).toHaveLength(2); // one more sync for b, c and d together
    f.started[1]!.finish();
    await Promise.all([b, c, d]);
    expect(done.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(f.started).toHaveLength(2);
  });

  it('keys are independent, and a failed sync fails only its callers', async () => {
    const f = fakeSync();
    const sync = groupCommit(f.syncOne);
    const x = sync('/x');
    const y = sync('/y');
    expect(f.started.map((s) => s.key)).toEqual(['/x', '/y']);
    const x2 = sync('/x');
    f.started[0]!.fail(new Error('EIO'));
    await expect(x).rejects.toThrow('EIO');
    await flush();
    // the caller queued behind the failed sync still gets a sync of its own
    expect(f.started.map((s) => s.key)).toEqual(['/x', '/y', '/x']);
    f.started[2]!.finish();
    f.started[1]!.finish();
    await expect(x2).resolves.toBeUndefined();
    await expect(y).resolves.toBeUndefined();
  });

  it('a caller after everything settled starts a fresh sync', async () => {
    const f = fakeSync();
    const sync = groupCommit(f.syncOne);
    const a = sync('/d');
    f.started[0]!.finish();
    await a;
    const b = sync('/d');
    expect(f.started).toHaveLength(2);
    f.started[1]!.finish();
    await b;
  });
});
