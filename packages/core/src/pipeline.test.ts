import { describe, expect, it } from 'vitest';
import type { Asset } from './asset.js';
import { KeepsakeError, SinkError } from './errors.js';
import type { PipelineEvent } from './events.js';
import { Ledger } from './ledger.js';
import { type PreparedPipeline, runPipeline } from './pipeline.js';
import { MemorySink, MemorySource, memoryResource } from './testing/memory.js';
import type { Transform } from './transform.js';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

function assets(n: number, counter?: { reads: number }, prefix = 'IMG'): Asset[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `100APPLE/${prefix}_${String(i).padStart(4, '0')}`,
    kind: 'photo' as const,
    resources: [memoryResource(`100APPLE/${prefix}_${String(i).padStart(4, '0')}.JPG`, bytes(1000 + i, i), {}, counter)],
  }));
}

/** A memory sink whose puts wait until it is flushed, like a sink that uploads in batches. */
function batchingSink(key: string, onFlush?: (waiting: number) => void): MemorySink {
  const sink = new MemorySink(key);
  const queue: (() => void)[] = [];
  const orig = sink.put.bind(sink);
  (sink as any).flush = async () => {
    if (queue.length) onFlush?.(queue.length);
    for (const go of queue.splice(0)) go();
  };
  sink.put = async (a, ctx) => {
    await new Promise<void>((r) => queue.push(r));
    return orig(a, ctx);
  };
  return sink;
}

/** A memory sink that cannot verify (like email): its deliveries stay `delivered`, never `verified`. */
function unverifyingSink(key: string): MemorySink {
  const sink = new MemorySink(key, { canVerify: false });
  const orig = sink.put.bind(sink);
  sink.put = async (a, ctx) => {
    const r = await orig(a, ctx);
    for (const i of r.items) i.verified = false;
    return r;
  };
  return sink;
}

function prepared(source: MemorySource, sinks: MemorySink[], extra: Partial<PreparedPipeline> = {}): PreparedPipeline {
  return {
    name: 'test',
    source,
    transforms: [],
    sinks: sinks.map((sink) => ({ sink, use: 'memory', transforms: [], offsite: false })),
    close: async () => {},
    ...extra,
  };
}

describe('runPipeline', () => {
  it('an asset pruned from the source and later put back (same item, size, mtime) counts as present again', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a');
    const first = await runPipeline(prepared(new MemorySource('mem:src', assets(3)), [sink]), { ledger });
    expect(first.copied).toBe(3);
    const [pruned, other] = [...ledger.assets({ sourceKey: 'mem:src' })];
    ledger.markDeleted(pruned!.assetKey, null);
    ledger.markDeleted(other!.assetKey, null);
    // the card now holds only the first one again: it is present, the other stays pruned, nothing is copied twice
    const again = await runPipeline(prepared(new MemorySource('mem:src', assets(3).filter((a) => a.id === pruned!.assetId)), [sink]), { ledger });
    expect(again).toMatchObject({ copied: 0, skipped: 1 });
    expect(ledger.asset(pruned!.assetKey)?.deletedAt).toBeNull();
    expect(ledger.asset(other!.assetKey)?.deletedAt).toBeTruthy();
    expect(ledger.assetCopies({ includeDeleted: true }).map((r) => [r.assetId, r.prunedAt !== null])).toEqual(
      expect.arrayContaining([
        [pruned!.assetId, false],
        [other!.assetId, true],
      ]),
    );
  });

  it('fans out to every sink and stores identical bytes', async () => {
    const ledger = Ledger.open(':memory:');
    const a = new MemorySink('mem:a');
    const b = new MemorySink('mem:b');
    const src = new MemorySource('mem:src', assets(10));
    const report = await runPipeline(prepared(src, [a, b]), { ledger });
    expect(report.copied).toBe(20);
    expect(report.failed).toBe(0);
    expect(a.stored.size).toBe(10);
    expect([...a.stored.values()].map((x) => x.byteLength)).toEqual([...b.stored.values()].map((x) => x.byteLength));
  });

  it('a rerun skips verified deliveries without reading a byte', async () => {
    const ledger = Ledger.open(':memory:');
    const counter = { reads: 0 };
    const sink = new MemorySink('mem:a');
    await runPipeline(prepared(new MemorySource('mem:src', assets(5, counter)), [sink]), { ledger });
    const readsAfterFirst = counter.reads;
    expect(readsAfterFirst).toBeGreaterThan(0);
    const report = await runPipeline(prepared(new MemorySource('mem:src', assets(5, counter)), [sink]), { ledger });
    expect(report.skipped).toBe(5);
    expect(report.copied).toBe(0);
    expect(counter.reads).toBe(readsAfterFirst);
    expect(sink.puts).toBe(5);
  });

  it('dedupes the same bytes arriving from another source', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a');
    await runPipeline(prepared(new MemorySource('phone-1', assets(3)), [sink]), { ledger });
    // same content under other names (e.g. after the IMG_9999 wrap-around) on a second phone
    const report = await runPipeline(prepared(new MemorySource('phone-2', assets(3, undefined, 'IMG')), [sink]), { ledger });
    expect(report.deduped).toBe(3);
    expect(sink.puts).toBe(3);
  });

  it('bounds assets in flight: a slow sink stalls the source', async () => {
    const ledger = Ledger.open(':memory:');
    const slow = new MemorySink('mem:slow', { maxConcurrency: 1 });
    slow.delayMs = 5;
    const src = new MemorySource('mem:src', assets(40));
    let maxGap = 0;
    const done = new Set<string>();
    await runPipeline(prepared(src, [slow], { concurrency: 3 }), {
      ledger,
      onEvent: (e) => {
        if (e.type === 'asset-end') done.add(e.assetId);
        if (e.type === 'asset-start') maxGap = Math.max(maxGap, src.pulled - done.size);
      },
    });
    expect(maxGap).toBeLessThanOrEqual(3);
    expect(slow.maxActive).toBe(1);
  });

  it('by default keeps enough assets in flight for the widest sink (at least 4, at most 16)', async () => {
    const run = async (maxConcurrency: number, concurrency?: number) => {
      const ledger = Ledger.open(':memory:');
      const sink = new MemorySink('mem:wide', { maxConcurrency });
      sink.delayMs = 5;
      await runPipeline(prepared(new MemorySource('mem:src', assets(40)), [sink], concurrency ? { concurrency } : {}), { ledger });
      return sink.maxActive;
    };
    expect(await run(8)).toBe(8);
    expect(await run(2)).toBe(2);
    expect(await run(32)).toBe(16);
    expect(await run(8, 3)).toBe(3); // the config's window wins
  });

  it('retries retryable errors and reports permanent ones per item, continuing the run', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a', { maxConcurrency: 1 });
    sink.failNext = [SinkError.rateLimited(1), SinkError.writeFailed('disk says no')];
    const events: PipelineEvent[] = [];
    const report = await runPipeline(prepared(new MemorySource('s', assets(3)), [sink]), { ledger, onEvent: (e) => events.push(e) });
    expect(events.some((e) => e.type === 'retry')).toBe(true);
    expect(report.failed).toBe(1);
    expect(report.copied).toBe(2);
    expect(report.failures[0]?.error.code).toBe('SINK_WRITE_FAILED');
    // the failed one is delivered on the next run
    const again = await runPipeline(prepared(new MemorySource('s', assets(3)), [sink]), { ledger });
    expect(again.copied).toBe(1);
    expect(again.skipped).toBe(2);
  });

  it('stops the run cleanly on a fatal error (quota) and keeps progress', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a', { maxConcurrency: 1 });
    const src = new MemorySource('s', assets(20));
    let n = 0;
    const orig = sink.put.bind(sink);
    sink.put = async (a, ctx) => {
      if (++n === 3) throw SinkError.quotaExceeded('daily quota reached, resume tomorrow');
      return orig(a, ctx);
    };
    const report = await runPipeline(prepared(src, [sink], { concurrency: 1 }), { ledger });
    expect(report.stoppedBy?.code).toBe('QUOTA_EXHAUSTED');
    expect(report.copied).toBe(2);
    expect(src.pulled).toBeLessThan(20);
    const rerun = await runPipeline(prepared(new MemorySource('s', assets(20)), [new MemorySink('mem:a')]), { ledger });
    expect(rerun.skipped).toBe(2);
    expect(rerun.copied).toBe(18);
  });

  it('abort stops pulling and reports aborted, not failed', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a', { maxConcurrency: 1 });
    sink.delayMs = 20;
    const ac = new AbortController();
    const src = new MemorySource('s', assets(50));
    setTimeout(() => ac.abort(), 60);
    const report = await runPipeline(prepared(src, [sink], { concurrency: 2 }), { ledger, signal: ac.signal });
    expect(report.aborted).toBe(true);
    expect(report.failed).toBe(0);
    expect(src.pulled).toBeLessThan(50);
  });

  it('a failing sink transform fails that sink only; the other sink gets the original', async () => {
    const ledger = Ledger.open(':memory:');
    const plain = new MemorySink('mem:plain');
    const converted = new MemorySink('mem:converted');
    const broken: Transform = {
      id: 'broken',
      version: '1',
      apply() {
        throw new Error('cannot decode');
      },
    };
    const p = prepared(new MemorySource('s', assets(2)), [plain, converted]);
    p.sinks[1]!.transforms = [broken];
    const report = await runPipeline(p, { ledger });
    expect(plain.stored.size).toBe(2);
    expect(converted.stored.size).toBe(0);
    expect(report.failed).toBe(2);
    expect(report.failures[0]?.error.code).toBe('TRANSFORM_FAILED');
  });

  it('a transform version change re-delivers; same version does not', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a');
    const t = (version: string): Transform => ({ id: 'noop', version, apply: (a) => a });
    const run = (v: string) => {
      const p = prepared(new MemorySource('s', assets(2)), [sink]);
      p.sinks[0]!.transforms = [t(v)];
      return runPipeline(p, { ledger });
    };
    expect((await run('1')).copied).toBe(2);
    expect((await run('1')).skipped).toBe(2);
    expect((await run('2')).copied + (await run('2')).skipped).toBeGreaterThan(0);
  });

  it('rejects a receipt whose hash differs from the source', async () => {
    const ledger = Ledger.open(':memory:');
    const counter = { reads: 0 };
    const sink = new MemorySink('mem:a');
    // pre-hash happens when a resource's size matches known content: seed one
    await runPipeline(prepared(new MemorySource('s0', assets(1)), [new MemorySink('mem:seed')]), { ledger });
    const orig = sink.put.bind(sink);
    sink.put = async (a, ctx) => {
      const r = await orig(a, ctx);
      r.items[0]!.hashes.sha256 = 'f'.repeat(64);
      return r;
    };
    const report = await runPipeline(prepared(new MemorySource('s1', assets(1, counter)), [sink]), { ledger });
    expect(report.failures[0]?.error.code).toBe('VERIFY_MISMATCH');
  });

  it('spools an expensive source once for several sinks', async () => {
    const ledger = Ledger.open(':memory:');
    const counter = { reads: 0 };
    const src = new MemorySource('phone', assets(3, counter), { expensiveReads: true });
    const report = await runPipeline(prepared(src, [new MemorySink('a'), new MemorySink('b'), new MemorySink('c')]), { ledger });
    expect(report.copied).toBe(9);
    expect(counter.reads).toBe(3);
  });

  it('flushes a batching sink when every slot waits on it', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = batchingSink('mem:batch');
    const report = await runPipeline(prepared(new MemorySource('s', assets(7)), [sink], { concurrency: 3 }), { ledger });
    expect(report.copied).toBe(7);
  });

  it('records a fatal scan error as the reason the run stopped', async () => {
    const ledger = Ledger.open(':memory:');
    const src = new MemorySource('s', []);
    src.scan = async function* () {
      yield* [];
      throw new KeepsakeError('DEVICE_LOCKED', 'The iPhone is locked', { hint: 'Unlock it' });
    };
    const report = await runPipeline(prepared(src, [new MemorySink('a')]), { ledger });
    expect(report.stoppedBy?.code).toBe('DEVICE_LOCKED');
    expect(report.failed).toBe(1);
  });

  it('dry run plans without writing', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('a');
    const report = await runPipeline(prepared(new MemorySource('s', assets(4)), [sink]), { ledger, dryRun: true });
    expect(report.planned).toBe(4);
    expect(sink.puts).toBe(0);
    expect(ledger.lastRuns()).toHaveLength(0);
  });

  it('reports diagnostics a transform adds, once per asset even with several sinks', async () => {
    const ledger = Ledger.open(':memory:');
    const warn: Transform = {
      id: 'warn',
      version: '1',
      apply: (a) => ({ ...a, diagnostics: [...(a.diagnostics ?? []), { level: 'warning', source: 'test:warn', message: 'odd pair' }] }),
    };
    const p = prepared(new MemorySource('s', assets(2)), [new MemorySink('a'), new MemorySink('b')]);
    p.transforms = [warn];
    const report = await runPipeline(p, { ledger });
    expect(report.diagnostics.map((d) => d.diagnostic.source)).toEqual(['test:warn', 'test:warn']);
  });

  it('skipped items (a sidecar the sink cannot hold) do not block verification and never count as copies', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:photos');
    const orig = sink.put.bind(sink);
    sink.put = async (a, ctx) => {
      const r = await orig(a, ctx);
      r.items[0] = { ...r.items[0]!, skipped: true, verified: false, location: 'skipped:sidecar' };
      return r;
    };
    const withSidecar = (): Asset[] =>
      assets(1).map((a) => ({ ...a, resources: [memoryResource('IMG_0000.AAE', bytes(50, 3), { role: 'adjustments' }), ...a.resources] }));
    const first = await runPipeline(prepared(new MemorySource('s', withSidecar()), [sink]), { ledger });
    expect(first.copied).toBe(1);
    const again = await runPipeline(prepared(new MemorySource('s', withSidecar()), [sink]), { ledger });
    expect(again.skipped).toBe(1);
    const row = ledger.deliveryItems(1).find((i) => i.resourceKey === 'IMG_0000.AAE')!;
    expect(row).toMatchObject({ skipped: true, verified: false });
    expect(ledger.verifiedCopiesOf(row.hashes.sha256)).toEqual([]);
  });

  it('a sink that cannot verify is not sent the same asset again', async () => {
    const ledger = Ledger.open(':memory:');
    const mail = unverifyingSink('mem:mail');
    await runPipeline(prepared(new MemorySource('s', assets(2)), [mail]), { ledger });
    const again = await runPipeline(prepared(new MemorySource('s', assets(2)), [mail]), { ledger });
    expect(again.skipped).toBe(2);
    expect(mail.puts).toBe(2);
  });

  it('an error diagnostic from the source fails the item but still delivers what it has', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('a');
    const a = assets(2);
    a[0]!.diagnostics = [{ level: 'error', source: 'backup:missing', message: 'IMG_0000.MOV is not in the backup' }];
    a.push({ id: 'empty', kind: 'other', resources: [], diagnostics: [{ level: 'error', source: 'backup:missing', message: 'nothing left' }] });
    const report = await runPipeline(prepared(new MemorySource('s', a), [sink]), { ledger });
    expect(report.failed).toBe(2);
    expect(report.failures.map((f) => f.error.code)).toEqual(['SOURCE_ITEM_INCOMPLETE', 'SOURCE_ITEM_INCOMPLETE']);
    expect(report.copied).toBe(2);
    expect(sink.puts).toBe(2);
  });

  it('a short copy is never recorded as verified', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('a');
    const orig = sink.put.bind(sink);
    sink.put = async (a, ctx) => {
      const r = await orig(a, ctx);
      r.items[0] = { ...r.items[0]!, size: r.items[0]!.size - 10 };
      return r;
    };
    const report = await runPipeline(prepared(new MemorySource('s', assets(1)), [sink]), { ledger });
    expect(report.failures[0]?.error.code).toBe('SOURCE_ITEM_TRUNCATED');
    expect(ledger.deliveryById(1)?.state).toBe('failed');
  });

  it('an AbortError from a plugin\'s own timer is a failure (retried), not a silent cancel', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('a');
    sink.put = async () => {
      throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
    };
    const events: PipelineEvent[] = [];
    const report = await runPipeline(prepared(new MemorySource('s', assets(1)), [sink]), { ledger, attempts: 2, onEvent: (e) => events.push(e) });
    expect(report.failures[0]?.error.code).toBe('TIMEOUT');
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(1);
    expect(report.aborted).toBe(false);
  });

  it('a very long Retry-After stops the run with when to resume instead of waiting for hours', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('a');
    sink.failNext = [SinkError.rateLimited(6 * 3600_000)];
    const report = await runPipeline(prepared(new MemorySource('s', assets(3)), [sink], { concurrency: 1 }), { ledger });
    expect(report.stoppedBy).toMatchObject({ code: 'RATE_LIMITED' });
    expect(String(report.stoppedBy?.hint)).toMatch(/run again after/);
  });

  it('a stale cached hash (file edited in place, same size and mtime) is dropped so the next run re-hashes', async () => {
    const ledger = Ledger.open(':memory:');
    const v1 = assets(1);
    await runPipeline(prepared(new MemorySource('s', v1), [new MemorySink('a')]), { ledger });
    const key = v1[0]!.resources[0]!.key;
    expect(ledger.cachedHash('s', key, v1[0]!.resources[0]!.size, v1[0]!.resources[0]!.mtimeMs)).toBeTruthy();
    const edited = v1[0]!.resources[0]!;
    const v2: Asset[] = [{ ...v1[0]!, resources: [memoryResource(key, bytes(edited.size!, 99))] }];
    const first = await runPipeline(prepared(new MemorySource('s', v2), [new MemorySink('b')]), { ledger });
    expect(first.failures[0]?.error.code).toBe('VERIFY_MISMATCH');
    expect(ledger.cachedHash('s', key, edited.size, edited.mtimeMs)).toBeUndefined();
    const second = await runPipeline(prepared(new MemorySource('s', v2), [new MemorySink('b')]), { ledger });
    expect(second.failed).toBe(0);
  });

  it('flushes a batching sink only when nothing waits on other sinks (batches are not split)', async () => {
    const ledger = Ledger.open(':memory:');
    const slow = new MemorySink('slow', { maxConcurrency: 1 });
    slow.delayMs = 30;
    const sizes: number[] = [];
    const batch = batchingSink('batch', (n) => sizes.push(n));
    const report = await runPipeline(prepared(new MemorySource('s', assets(12)), [slow, batch], { concurrency: 6 }), { ledger });
    expect(report.copied).toBe(24);
    expect(sizes.length).toBeLessThanOrEqual(4);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });

  it('two copies of the same bytes in flight at once (a duplicate next to its original) are stored once', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a', { maxConcurrency: 4 });
    sink.delayMs = 10;
    const photo = bytes(5000, 7);
    const src = new MemorySource('card', [
      { id: 'DCIM/IMG_0001', kind: 'photo', resources: [memoryResource('DCIM/IMG_0001.JPG', photo)] },
      { id: 'DCIM/IMG_0001 copy', kind: 'photo', resources: [memoryResource('DCIM/IMG_0001 copy.JPG', photo)] },
      ...assets(3),
    ]);
    const report = await runPipeline(prepared(src, [sink]), { ledger });
    expect(report).toMatchObject({ copied: 4, deduped: 1, failed: 0 });
    expect(sink.puts).toBe(4);
    expect([...sink.stored.keys()].filter((k) => k.startsWith('DCIM/'))).toHaveLength(1);
  });

  it('a duplicate waiting on its original does not stall a batching sink', async () => {
    const ledger = Ledger.open(':memory:');
    const batch = batchingSink('batch');
    const photo = bytes(5000, 7);
    const src = new MemorySource('card', [
      { id: 'A', kind: 'photo', resources: [memoryResource('A.JPG', photo)] },
      { id: 'B', kind: 'photo', resources: [memoryResource('B.JPG', photo)] },
    ]);
    const report = await runPipeline(prepared(src, [batch], { concurrency: 4 }), { ledger });
    expect(report).toMatchObject({ copied: 1, deduped: 1 });
  });
  it('puts cancelled because another item hit a fatal error are not reported as failures', async () => {
    const ledger = Ledger.open(':memory:');
    const sink = new MemorySink('mem:a', { maxConcurrency: 2 });
    const orig = sink.put.bind(sink);
    sink.put = async (a, ctx) => {
      if (a.id.endsWith('0000')) {
        await new Promise((r) => setTimeout(r, 20));
        throw SinkError.quotaExceeded('storage full');
      }
      // a slow upload that honours the signal
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 5000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }));
        });
      });
      return orig(a, ctx);
    };
    const report = await runPipeline(prepared(new MemorySource('s', assets(2)), [sink], { concurrency: 2 }), { ledger });
    expect(report.stoppedBy?.code).toBe('QUOTA_EXHAUSTED');
    expect(report.failures.map((f) => f.error.code)).toEqual(['QUOTA_EXHAUSTED']);
    expect(report.failed).toBe(1);
    // the cancelled one stays pending for the next run, like any interrupted put
    expect(ledger.deliveriesOf([...ledger.assets()].find((x) => x.assetId.endsWith('0001'))!.assetKey)[0]?.state).toBe('pending');
  });

  it('a sink that cannot verify is not sent the same bytes again from a second phone', async () => {
    const ledger = Ledger.open(':memory:');
    const mail = unverifyingSink('mem:mail');
    await runPipeline(prepared(new MemorySource('phone-1', assets(3)), [mail]), { ledger });
    const report = await runPipeline(prepared(new MemorySource('phone-2', assets(3)), [mail]), { ledger });
    expect(report).toMatchObject({ deduped: 3, copied: 0 });
    expect(mail.puts).toBe(3);
    // and the deduped records count as done: a third run sends nothing either
    const again = await runPipeline(prepared(new MemorySource('phone-2', assets(3)), [mail]), { ledger });
    expect(again.skipped).toBe(3);
  });
  it('a retryable read error while spooling an expensive source (iPhone timeout) is retried, not failed at once', async () => {
    const ledger = Ledger.open(':memory:');
    const data = bytes(200_000, 5);
    let opens = 0;
    const flaky = memoryResource('DCIM/100APPLE/IMG_0001.HEIC', data, {
      open: () =>
        (async function* () {
          opens++;
          yield data.subarray(0, 65_536);
          if (opens === 1) throw new KeepsakeError('TIMEOUT', 'No answer from the iPhone for 30 s while reading', { classification: 'retryable' });
          yield data.subarray(65_536);
        })(),
    });
    const src = new MemorySource('iphone:x', [{ id: '100APPLE/IMG_0001', kind: 'photo', resources: [flaky] }], { expensiveReads: true });
    const sink = new MemorySink('mem:a');
    const events: PipelineEvent[] = [];
    const report = await runPipeline(prepared(src, [sink]), { ledger, onEvent: (e) => events.push(e) });
    expect(report).toMatchObject({ copied: 1, failed: 0 });
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(1);
    expect(Buffer.from([...sink.stored.values()][0]!).equals(Buffer.from(data))).toBe(true);
  });
});
