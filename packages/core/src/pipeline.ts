import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Asset, Resource } from './asset.js';
import type { LoadedConfig } from './config.js';
import { isAbortError, isKeepsakeError, KeepsakeError, wrapPluginError } from './errors.js';
import type { ItemOutcome, PipelineEvent, RunReport } from './events.js';
import { assetKeyOf, contentKeyOf } from './internal/identity.js';
import { Semaphore } from './internal/semaphore.js';
import { hashResource } from './internal/spool.js';
import type { DeliveryItemRow, Ledger } from './ledger.js';
import { type Logger, silentLogger } from './logger.js';
import type { PluginHost } from './plugin-host.js';
import { sleep, withRetry } from './retry.js';
import type { SecretStore } from './secrets.js';
import type { PutContext, Receipt, Sink, StoredResource } from './sink.js';
import type { Source } from './source.js';
import type { Transform } from './transform.js';

/** One destination of a pipeline with its own transforms. */
export interface SinkSetup {
  sink: Sink;
  /** Contribution id (`folder`, `onedrive`) for messages and the ledger. */
  use: string;
  transforms: Transform[];
  /** Counts as off-site in 3-2-1 audits. */
  offsite: boolean;
  /** Max concurrent puts (default: the sink's capability). */
  concurrency?: number;
}

/** A pipeline with its plugins instantiated: what {@link runPipeline} executes. */
export interface PreparedPipeline {
  name: string;
  source: Source;
  /** Transforms shared by every sink. */
  transforms: Transform[];
  sinks: SinkSetup[];
  /** Assets in flight at once. */
  concurrency?: number;
  /** Closes source, transforms and sinks (awaited). */
  close(): Promise<void>;
}

export interface PrepareOptions {
  host: PluginHost;
  config: LoadedConfig;
  pipeline: string;
  signal?: AbortSignal;
  logger?: Logger;
  secrets?: SecretStore;
  env?: NodeJS.ProcessEnv;
}

/** Validates options (before anything runs) and instantiates the pipeline's source, transforms and sinks. */
export async function preparePipeline(o: PrepareOptions): Promise<PreparedPipeline> {
  const p = o.config.config.pipelines[o.pipeline];
  if (!p) {
    throw new KeepsakeError('PIPELINE_NOT_FOUND', `No pipeline named "${o.pipeline}" in ${o.config.path ?? 'the config'}`, {
      stage: 'config',
      hint: `Pipelines: ${Object.keys(o.config.config.pipelines).join(', ')}`,
    });
  }
  const at = `pipelines.${o.pipeline}`;
  // every option of every step is checked before any plugin code runs
  o.host.resolveOptions('source', p.source, `${at}.source`);
  for (const [i, t] of (p.transforms ?? []).entries()) o.host.resolveOptions('transform', t, `${at}.transforms[${i}]`);
  for (const [i, s] of p.sinks.entries()) {
    o.host.resolveOptions('sink', s, `${at}.sinks[${i}]`);
    for (const [j, t] of (s.transforms ?? []).entries()) o.host.resolveOptions('transform', t, `${at}.sinks[${i}].transforms[${j}]`);
  }
  const ctx = { configDir: o.config.dir, pipeline: o.pipeline, signal: o.signal, logger: o.logger, secrets: o.secrets, env: o.env };
  const opened: { close?(): Promise<void> }[] = [];
  const track = <T extends { close?(): Promise<void> }>(x: T) => {
    opened.push(x);
    return x;
  };
  const close = async () => {
    for (const x of opened.reverse()) await x.close?.().catch(() => {});
  };
  try {
    const source = track(await o.host.createSource(p.source, `${at}.source`, ctx));
    const transforms: Transform[] = [];
    for (const [i, t] of (p.transforms ?? []).entries()) transforms.push(track(await o.host.createTransform(t, `${at}.transforms[${i}]`, ctx)));
    const sinks: SinkSetup[] = [];
    for (const [i, s] of p.sinks.entries()) {
      const sink = track(await o.host.createSink(s, `${at}.sinks[${i}]`, ctx));
      const own: Transform[] = [];
      for (const [j, t] of (s.transforms ?? []).entries()) own.push(track(await o.host.createTransform(t, `${at}.sinks[${i}].transforms[${j}]`, ctx)));
      const dup = sinks.find((x) => x.sink.key === sink.key);
      if (dup) {
        throw new KeepsakeError('CONFIG_INVALID', `${at}.sinks[${i}] writes to the same destination as another sink (${sink.key})`, {
          stage: 'config',
          hint: 'Give each sink its own destination.',
        });
      }
      sinks.push({ sink, use: s.use, transforms: own, offsite: s.offsite ?? sink.capabilities.offsite, concurrency: s.concurrency });
    }
    return { name: o.pipeline, source, transforms, sinks, concurrency: p.concurrency, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface RunOptions {
  ledger: Ledger;
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  /** Scan and plan only: report what would be copied, move no bytes, write nothing. */
  dryRun?: boolean;
  logger?: Logger;
  /** Attempts per put for retryable errors (default 4). */
  attempts?: number;
}

interface SinkRuntime extends SinkSetup {
  chain: string;
  sem: Semaphore;
  /** Asset keys already done at this sink when the run started. */
  done: Set<string>;
}

const chainOf = (ts: Transform[]) => ts.map((t) => `${t.id}@${t.version}`).join('>');

/**
 * Runs a prepared pipeline: source → shared transforms → fan-out to sinks (each with its own
 * transforms). Assets in flight are bounded, so a slow sink stalls the source instead of growing
 * memory; each sink has its own concurrency limit. Aborting the signal stops pulling, aborts the
 * puts in flight (sinks roll back), and resolves with `aborted: true` — the ledger keeps progress.
 */
export async function runPipeline(prepared: PreparedPipeline, o: RunOptions): Promise<RunReport> {
  const { ledger } = o;
  const { source } = prepared;
  const logger = o.logger ?? silentLogger;
  const emit = (e: PipelineEvent) => {
    try {
      o.onEvent?.(e);
    } catch (err) {
      logger.warn(`event listener threw: ${(err as Error).message}`);
    }
  };
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(o.signal?.reason);
  if (o.signal?.aborted) stop.abort(o.signal.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = stop.signal;
  let fatal: KeepsakeError | undefined;

  const hasBatching = prepared.sinks.some((s) => typeof s.sink.flush === 'function');
  // the window must be wide enough to keep the widest sink busy (a folder sink overlaps fsyncs)
  const widest = Math.max(0, ...prepared.sinks.map(putsAtOnce));
  const inFlightLimit = prepared.concurrency ?? (hasBatching ? 64 : Math.min(MAX_DEFAULT_WINDOW, Math.max(4, widest)));
  const sinks: SinkRuntime[] = prepared.sinks.map((s) => {
    const chain = [chainOf(prepared.transforms), chainOf(s.transforms)].filter(Boolean).join('>');
    // "delivered" is as done as it gets for a sink that cannot verify (email): never send twice
    return { ...s, chain, done: ledger.doneAssetKeys(s.sink.key, chain, !s.sink.capabilities.canVerify), sem: semFor(s) };
  });
  // a batching sink holds puts open until it flushes, so it must accept a whole window of them
  function semFor(s: SinkSetup): Semaphore {
    return new Semaphore(s.sink.flush ? Math.max(1, inFlightLimit) : putsAtOnce(s));
  }
  const runId = o.dryRun ? 0 : ledger.beginRun(prepared.name);
  const startedAt = new Date().toISOString();
  const report: RunReport = {
    pipeline: prepared.name,
    runId,
    startedAt,
    endedAt: startedAt,
    aborted: false,
    dryRun: !!o.dryRun,
    assets: 0,
    copied: 0,
    skipped: 0,
    deduped: 0,
    planned: 0,
    failed: 0,
    bytesCopied: 0,
    failures: [],
    diagnostics: [],
  };
  if (!o.dryRun) {
    ledger.registerPipelineSource(prepared.name, source.key, runId);
    for (const s of sinks) {
      ledger.registerSink({ sinkKey: s.sink.key, use: s.use, pipeline: prepared.name, offsite: s.offsite, canVerify: s.sink.capabilities.canVerify }, runId);
    }
  }
  emit({ type: 'run-start', pipeline: prepared.name, runId, sinks: sinks.map((s) => s.sink.key) });
  const tempDir = await makeRunTempDir(ledger);

  const fail = (assetId: string, sink: string | undefined, err: unknown) => {
    const ke = err instanceof KeepsakeError ? err : wrapPluginError(err, { assetId });
    const withAsset = ke.context.assetId ? ke : ke.withContext({ assetId });
    report.failed++;
    report.failures.push({ assetId, sink, error: withAsset.toJSON() });
    emit({ type: 'item-failed', assetId, sink, error: withAsset });
    if (withAsset.classification === 'fatal' && !fatal) {
      fatal = withAsset;
      stop.abort(withAsset);
    }
  };
  const done = (assetId: string, sink: string, outcome: ItemOutcome, bytes: number, receipt?: Receipt) => {
    if (outcome === 'copied') report.copied++;
    else if (outcome === 'skipped') report.skipped++;
    else if (outcome === 'deduped') report.deduped++;
    else report.planned++;
    report.bytesCopied += outcome === 'copied' ? bytes : 0;
    emit({ type: 'item-done', assetId, sink, outcome, bytes, receipt });
  };

  // pruned assets the source holds again (put back on the card) are present, not deleted, once seen
  const deletedHere = o.dryRun ? new Set<string>() : ledger.deletedAssetKeys(source.key);
  const hashFromCache = new Set<string>();
  /** In-flight assets still doing work other than waiting for a batching sink to flush. */
  let busy = 0;
  /**
   * In-flight assets by the roles and sizes of their resources (what identical content must share),
   * each with a promise settled when that asset is finished.
   */
  const inFlightShapes = new Map<string, Set<Promise<void>>>();
  const processAsset = async (input: Asset): Promise<void> => {
    busy++;
    let counted = true;
    const setBusy = (b: boolean) => {
      if (b === counted) return;
      counted = b;
      busy += b ? 1 : -1;
    };
    const finished: (() => void)[] = [];
    try {
      await processAssetInner(input, setBusy, (f) => finished.push(f));
    } finally {
      setBusy(false);
      for (const f of finished) f();
    }
  };
  /**
   * Waits for every earlier in-flight asset that may hold the same bytes (same roles and sizes),
   * so a duplicate next to its original (IMG_0001.JPG, IMG_0001 copy.JPG) finds the original's
   * content in the ledger and is deduped instead of stored a second time.
   */
  const waitForSameShape = async (asset: Asset, setBusy: (b: boolean) => void, onFinished: (f: () => void) => void): Promise<void> => {
    if (asset.resources.some((r) => r.size === undefined)) return;
    const shape = asset.resources
      .map((r) => `${r.role}:${r.size}`)
      .sort()
      .join('\n');
    const set = inFlightShapes.get(shape) ?? new Set<Promise<void>>();
    inFlightShapes.set(shape, set);
    const earlier = [...set];
    let finish!: () => void;
    const mine = new Promise<void>((resolve) => {
      finish = resolve;
    });
    set.add(mine);
    onFinished(() => {
      set.delete(mine);
      if (set.size === 0 && inFlightShapes.get(shape) === set) inFlightShapes.delete(shape);
      finish();
    });
    if (earlier.length === 0) return;
    // not busy while waiting: an earlier one may wait on a batching sink that only flushes when idle
    setBusy(false);
    await Promise.all(earlier);
    setBusy(true);
  };
  const processAssetInner = async (input: Asset, setBusy: (b: boolean) => void, onFinished: (f: () => void) => void): Promise<void> => {
    report.assets++;
    const assetKey = assetKeyOf(source.key, input);
    const asset: Asset = { ...input, resources: input.resources.map((r) => ({ ...r })) };
    for (const d of asset.diagnostics ?? []) {
      report.diagnostics.push({ assetId: asset.id, diagnostic: d });
      emit({ type: 'diagnostic', assetId: asset.id, diagnostic: d });
      // an error the source found (a file missing from a backup) fails the item: the report and
      // exit code say so, while whatever resources it does have are still delivered
      if (d.level === 'error') {
        fail(asset.id, undefined, new KeepsakeError('SOURCE_ITEM_INCOMPLETE', `${d.source}: ${d.message}`, { stage: 'scan', assetId: asset.id, classification: 'permanent' }));
      }
    }
    if (asset.resources.length === 0) return;
    if (deletedHere.delete(assetKey)) ledger.markPresent(assetKey);
    emit({ type: 'asset-start', assetId: asset.id, bytes: asset.resources.reduce((n, r) => n + (r.size ?? 0), 0) });
    const pending: SinkRuntime[] = [];
    for (const s of sinks) {
      if (s.done.has(assetKey)) done(asset.id, s.sink.key, 'skipped', 0);
      else pending.push(s);
    }
    if (pending.length === 0) return;
    // only now look up cached hashes: a no-op rerun does one ledger lookup per sink and nothing else
    for (const r of asset.resources) {
      if (r.sha256) continue;
      r.sha256 = ledger.cachedHash(source.key, r.key, r.size, r.mtimeMs);
      if (r.sha256) hashFromCache.add(`${asset.id}\0${r.key}`);
    }
    if (o.dryRun) {
      for (const s of pending) done(asset.id, s.sink.key, 'planned', asset.resources.reduce((n, r) => n + (r.size ?? 0), 0));
      return;
    }
    await waitForSameShape(asset, setBusy, onFinished);
    if (signal.aborted) return;
    if (!ledger.asset(assetKey)) ledger.recordAsset(source.key, assetKey, asset, runId);

    const cleanups: (() => Promise<void>)[] = [];
    try {
      // Hash before delivery where it pays: an expensive source is read once into a spool file;
      // a local file is pre-hashed only if its size matches known content (a possible duplicate).
      for (const [i, r] of asset.resources.entries()) {
        if (r.sha256) continue;
        const expensive = source.capabilities.expensiveReads;
        if (!expensive && !(r.size !== undefined && ledger.knownSize(r.size))) continue;
        try {
          // a USB read that times out is retried like a put: for an expensive source this read is
          // the only one from the device (sinks read the spool), so the put's retries never reach it
          const h = await withRetry(
            () =>
              hashResource(r, { signal, spoolDir: expensive ? tempDir : undefined }).catch((err: unknown) => {
                throw signal.aborted ? err : strayAbort(err);
              }),
            {
              attempts: o.attempts ?? 4,
              signal,
              onRetry: ({ attempt, delayMs, error }) =>
                emit({ type: 'retry', assetId: asset.id, attempt, delayMs, error: wrapPluginError(error, { stage: 'hash', assetId: asset.id, resource: r.key }) }),
            },
          );
          if (h.cleanup) cleanups.push(h.cleanup);
          asset.resources[i] = h.spooled ?? { ...r, sha256: h.sha256 };
          learnHash(assetKey, asset.resources[i]!, h.sha256);
        } catch (err) {
          if (signal.aborted) return;
          fail(asset.id, undefined, wrapPluginError(strayAbort(err), { stage: 'hash', assetId: asset.id, resource: r.key }));
          return;
        }
      }
      const contentKey = contentKeyOf(asset);
      let shared: Promise<Asset> | undefined;
      const sharedAsset = () => (shared ??= applyTransforms(asset, prepared.transforms));
      const batching = pending.map((s) => !!s.sink.flush);
      const deliveries = pending.map((s) => deliver(s, asset, assetKey, contentKey, sharedAsset));
      await Promise.all(deliveries.filter((_, i) => !batching[i]));
      // from here on this asset only waits on batching sinks: flushing them cannot split a batch early
      setBusy(false);
      await Promise.all(deliveries.filter((_, i) => batching[i]));
    } finally {
      for (const c of cleanups) await c().catch(() => {});
    }
  };

  // diagnostics transforms add (livephoto:mismatch…) are reported once per asset, not per sink
  const reported = new Map<string, Set<string>>();
  const reportNewDiagnostics = (before: Asset, after: Asset) => {
    const seen = reported.get(before.id) ?? new Set((before.diagnostics ?? []).map((d) => `${d.source}\0${d.message}`));
    reported.set(before.id, seen);
    for (const d of after.diagnostics ?? []) {
      const k = `${d.source}\0${d.message}`;
      if (seen.has(k)) continue;
      seen.add(k);
      report.diagnostics.push({ assetId: before.id, diagnostic: d });
      emit({ type: 'diagnostic', assetId: before.id, diagnostic: d });
    }
  };

  const putOnce = (sink: Sink, a: Asset, ctx: PutContext) =>
    sink.put(a, ctx).catch((err: unknown) => {
      throw signal.aborted ? err : strayAbort(err);
    });

  const learnHash = (assetKey: string, r: Resource, sha256: string) =>
    ledger.transaction(() => {
      if (r.size !== undefined) ledger.rememberHash(source.key, r.key, r.size, r.mtimeMs, sha256);
      ledger.setResourceHash(assetKey, r.key, sha256);
    });

  const applyTransforms = async (asset: Asset, transforms: Transform[]): Promise<Asset> => {
    let a = asset;
    for (const t of transforms) {
      try {
        a = await t.apply(a, { signal, logger, tempDir });
      } catch (err) {
        if (signal.aborted) throw err;
        const ke = wrapPluginError(strayAbort(err), { stage: 'transform', contribution: t.id, assetId: asset.id });
        throw ke.code === 'PLUGIN_ERROR' ? new KeepsakeError('TRANSFORM_FAILED', `${t.id}: ${ke.message}`, { ...ke.context, cause: err }) : ke;
      }
    }
    return a;
  };

  const deliver = async (s: SinkRuntime, asset: Asset, assetKey: string, contentKey: string | undefined, sharedAsset: () => Promise<Asset>) => {
    const release = await s.sem.acquire();
    let deliveryId: number | undefined;
    try {
      if (signal.aborted) return;
      // the same bytes already verified at this destination (another phone, a backup, a rename)
      const dup = contentKey ? ledger.deliveryWithContent(s.sink.key, s.chain, contentKey, !s.sink.capabilities.canVerify) : undefined;
      if (dup && dup.assetKey !== assetKey) {
        deliveryId = ledger.startDelivery(assetKey, s.sink.key, s.chain);
        const items: StoredResource[] = ledger.deliveryItems(dup.id).map(({ deliveryId: _id, ...i }: DeliveryItemRow) => ({ ...i, deduped: true }));
        ledger.completeDelivery(deliveryId, { items }, contentKey ?? null);
        done(asset.id, s.sink.key, 'deduped', 0);
        return;
      }
      let a = await sharedAsset();
      a = await applyTransforms(a, s.transforms);
      reportNewDiagnostics(asset, a);
      deliveryId = ledger.startDelivery(assetKey, s.sink.key, s.chain);
      const id = deliveryId;
      const receipt = await withRetry(
        () =>
          putOnce(s.sink, a, {
            signal,
            logger,
            tempDir,
            resume: ledger.resumeStore(id),
            onProgress: (bytes) => emit({ type: 'progress', assetId: asset.id, sink: s.sink.key, bytes }),
          }),
        {
          attempts: o.attempts ?? 4,
          signal,
          onRetry: ({ attempt, delayMs, error }) =>
            emit({ type: 'retry', assetId: asset.id, sink: s.sink.key, attempt, delayMs, error: wrapPluginError(error, { assetId: asset.id }) }),
        },
      );
      checkReceipt(a, receipt, s.use);
      // hashes learned while streaming (no pre-hash) become the source's hashes
      for (const r of asset.resources) {
        const item = receipt.items.find((i) => i.resourceKey === r.key);
        if (!r.sha256 && item && !item.skipped && r.size === item.size) {
          r.sha256 = item.hashes.sha256;
          learnHash(assetKey, r, item.hashes.sha256);
        }
      }
      ledger.completeDelivery(id, receipt, contentKeyOf(asset) ?? null);
      const fresh = receipt.items.filter((i) => !i.deduped && !i.skipped);
      done(asset.id, s.sink.key, fresh.length ? 'copied' : 'deduped', fresh.reduce((n, i) => n + i.size, 0), receipt);
    } catch (err) {
      // cancelled (Ctrl-C, or another item's fatal error stopped the run): the pending row stays and
      // the next run resumes it; only the item that caused a fatal stop is reported
      if (signal.aborted && (!fatal || isAbortError(err))) return;
      if (hashFromCache.has(`${asset.id}\0${(err as KeepsakeError).context?.resource}`) && (err as KeepsakeError).code === 'VERIFY_MISMATCH') {
        // the cached hash was stale (edited in place, same size and mtime): re-hash next run
        ledger.forgetHash(source.key, (err as KeepsakeError).context.resource!);
      }
      const ke = wrapPluginError(strayAbort(err), { stage: 'put', plugin: s.use, assetId: asset.id });
      if (deliveryId !== undefined) ledger.failDelivery(deliveryId, ke.describe());
      fail(asset.id, s.sink.key, ke);
    } finally {
      release();
    }
  };

  // ── the pull loop: bounded in-flight window over the source's async iterator ──
  const inFlight = new Set<Promise<void>>();
  const flushAll = async () => {
    await Promise.all(
      sinks.filter((s) => s.sink.flush).map((s) => s.sink.flush!({ signal, logger }).catch((err) => fail('(batch)', s.sink.key, err))),
    );
  };
  const waitForSlot = async () => {
    while (inFlight.size >= inFlightLimit) {
      const freed = await Promise.race([Promise.race(inFlight).then(() => true), sleep(250).then(() => false)]);
      // every slot waits on a batching sink: let it send what it has
      if (!freed && hasBatching && busy === 0) await flushAll();
    }
  };
  let iterator: AsyncIterator<Asset> | undefined;
  try {
    iterator = source
      .scan({
        signal,
        logger,
        reportTotals: (t) => emit({ type: 'totals', ...t }),
      })
      [Symbol.asyncIterator]();
    while (!signal.aborted) {
      await waitForSlot();
      if (signal.aborted) break;
      let next: IteratorResult<Asset>;
      try {
        next = await iterator!.next();
      } catch (err) {
        if (!signal.aborted) {
          const ke = wrapPluginError(strayAbort(err), { stage: 'scan' });
          fatal = ke.classification === 'fatal' ? ke : new KeepsakeError(ke.code, ke.message, { ...ke.context, hint: ke.hint, cause: ke.cause, classification: 'fatal' });
          report.failures.push({ assetId: '(scan)', error: fatal.toJSON() });
          report.failed++;
          emit({ type: 'item-failed', assetId: '(scan)', error: fatal });
        }
        break;
      }
      if (next.done) break;
      const asset = next.value;
      const p: Promise<void> = processAsset(asset)
        .catch((err) => fail(asset.id, undefined, err))
        .finally(() => {
          inFlight.delete(p);
          reported.delete(asset.id);
          for (const r of asset.resources) hashFromCache.delete(`${asset.id}\0${r.key}`);
          emit({ type: 'asset-end', assetId: asset.id });
        });
      inFlight.add(p);
    }
    if (signal.aborted) await iterator?.return?.().catch(() => {});
    while (inFlight.size) {
      if (hasBatching && busy === 0 && !signal.aborted) await flushAll();
      await Promise.race([Promise.race(inFlight), sleep(250)]);
    }
    if (hasBatching && !signal.aborted) await flushAll();
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
    await rm(tempDir, { recursive: true, force: true }).catch(() => {});
  }
  report.aborted = signal.aborted && !fatal;
  if (fatal) report.stoppedBy = fatal.toJSON();
  report.endedAt = new Date().toISOString();
  if (!o.dryRun) ledger.endRun(runId, report);
  emit({ type: 'run-end', report });
  return report;
}

/** Default cap on assets in flight when no sink batches (the config's `concurrency` overrides it). */
const MAX_DEFAULT_WINDOW = 16;

/** Concurrent puts a non-batching sink gets: its own limit, lowered (never raised) by the config. */
function putsAtOnce(s: SinkSetup): number {
  return Math.max(1, Math.min(s.concurrency ?? s.sink.capabilities.maxConcurrency, s.sink.capabilities.maxConcurrency));
}

/** Every resource handed to the sink must come back stored, with the source's hash when known. */
function checkReceipt(asset: Asset, receipt: Receipt, use: string): void {
  const byKey = new Map<string, StoredResource>(receipt.items.map((i) => [i.resourceKey, i]));
  for (const r of asset.resources) {
    const item = byKey.get(r.key);
    if (!item) {
      throw new KeepsakeError('SINK_WRITE_FAILED', `Sink "${use}" did not report storing ${r.name}`, {
        stage: 'put',
        assetId: asset.id,
        resource: r.key,
        classification: 'permanent',
        hint: 'This is a bug in the sink plugin; report it with this message.',
      });
    }
    if (!item.skipped && !item.deduped && r.role !== 'derived' && r.size !== undefined && item.size !== r.size) {
      throw new KeepsakeError(item.size < r.size ? 'SOURCE_ITEM_TRUNCATED' : 'SOURCE_ITEM_CHANGED', `${r.name}: "${use}" stored ${item.size} bytes, the source reported ${r.size}`, {
        stage: 'verify',
        assetId: asset.id,
        resource: r.key,
        location: item.location,
        classification: 'permanent',
        hint: 'The file changed or was cut short while copying; run again to re-copy it.',
      });
    }
    if (r.sha256 && !item.skipped && item.hashes.sha256 !== r.sha256) {
      throw new KeepsakeError('VERIFY_MISMATCH', `${r.name}: "${use}" stored bytes with sha256 ${item.hashes.sha256}, the source has ${r.sha256}`, {
        stage: 'verify',
        assetId: asset.id,
        resource: r.key,
        location: item.location,
        classification: 'permanent',
        hint: 'The source file may have changed while copying; run again to re-copy it.',
      });
    }
  }
}

/** Convenience for the CLI and custom tools: prepare + run + close. */
export async function runConfiguredPipeline(o: PrepareOptions & RunOptions): Promise<RunReport> {
  const prepared = await preparePipeline(o);
  try {
    return await runPipeline(prepared, o);
  } finally {
    await prepared.close();
  }
}

/** An AbortError our signal did not cause (a plugin's own timer) is a retryable timeout, not a cancel. */
function strayAbort(err: unknown): unknown {
  if (!isAbortError(err) || isKeepsakeError(err)) return err;
  return new KeepsakeError('TIMEOUT', `An operation was aborted by the plugin: ${(err as Error).message}`, { cause: err, classification: 'retryable' });
}

/**
 * A run's temp folder (spooled USB reads, converted files) lives next to the ledger, not in /tmp
 * (often RAM, too small for videos). Folders left by a killed run are swept when older than a day.
 */
async function makeRunTempDir(ledger: Ledger): Promise<string> {
  const root = ledger.path === ':memory:' ? tmpdir() : join(dirname(ledger.path), 'tmp');
  await mkdir(root, { recursive: true });
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith('keepsake-run-')) continue;
    const p = join(root, name);
    const st = await stat(p).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 86_400_000) await rm(p, { recursive: true, force: true }).catch(() => {});
  }
  return mkdtemp(join(root, 'keepsake-run-'));
}
