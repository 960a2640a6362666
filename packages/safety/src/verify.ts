import {
  type Ledger,
  type LoadedConfig,
  type Logger,
  type PipelineEvent,
  type PluginHost,
  runConfiguredPipeline,
  type RunReport,
  silentLogger,
  type StoredResource,
  type VerifyStatus,
  wrapPluginError,
} from '@keepsake/core';
import type { ConfiguredSink } from './configured-sinks.js';

export type FindingStatus = VerifyStatus | 'sink-unavailable' | 'error';

export interface VerifyFinding {
  sinkKey: string;
  deliveryId: number;
  sourceKey: string;
  assetId: string;
  resourceKey: string;
  name: string;
  location: string;
  status: FindingStatus;
  detail?: string;
}

export interface VerifyReport {
  checked: number;
  ok: number;
  missing: number;
  corrupt: number;
  unverifiable: number;
  unavailable: number;
  errors: number;
  /** Everything that is not `ok`. */
  findings: VerifyFinding[];
}

export interface VerifyOptions {
  ledger: Ledger;
  sinks: Map<string, ConfiguredSink>;
  /** Only deliveries to these sinks (default: every sink in the ledger). */
  sinkKeys?: string[];
  signal: AbortSignal;
  logger?: Logger;
  /** Items checked at once (default 2: one per core, hashing is CPU-bound). */
  concurrency?: number;
  onItem?(finding: VerifyFinding): void;
}

/**
 * Re-checks recorded deliveries against the sinks: a folder re-hashes its file, a service compares
 * the hash it reports; sinks that cannot check (email) are "unverifiable", never "ok". A missing or
 * corrupt copy no longer counts: its delivery is marked failed in the ledger, so `status` shows the
 * asset at risk and the next run (or `--repair`) delivers it again.
 */
export async function verifyDeliveries(o: VerifyOptions): Promise<VerifyReport> {
  const logger = o.logger ?? silentLogger;
  const report: VerifyReport = { checked: 0, ok: 0, missing: 0, corrupt: 0, unverifiable: 0, unavailable: 0, errors: 0, findings: [] };
  // deduped deliveries share a stored file: check each (sink, location) once
  const cache = new Map<string, Promise<{ status: FindingStatus; detail?: string }>>();
  const jobs: (() => Promise<void>)[] = [];
  const recheck: { id: number; results: FindingStatus[]; expected: number }[] = [];
  for (const d of o.ledger.deliveries({ sinkKeys: o.sinkKeys })) {
    if (d.state === 'pending') continue;
    const items = o.ledger.deliveryItems(d.id);
    // a failed delivery with items was stored once and later found broken: check it again, so a
    // copy that is still bad keeps being reported (and repaired), and a restored one counts again
    if (d.state === 'failed' && items.length === 0) continue;
    const results: FindingStatus[] = [];
    if (d.state === 'failed') recheck.push({ id: d.id, results, expected: items.filter((i) => !i.skipped).length });
    for (const item of items) {
      if (item.skipped) continue; // deliberately not stored there (a sidecar): nothing to check
      jobs.push(async () => {
        const configured = o.sinks.get(d.sinkKey);
        let result: { status: FindingStatus; detail?: string };
        if (!configured) result = { status: 'sink-unavailable', detail: 'this destination is not in the config any more, so it cannot be checked' };
        else if (d.state === 'delivered' || !configured.sink.verify || !configured.sink.capabilities.canVerify) {
          result = { status: 'unverifiable', detail: `${configured.use} cannot re-check stored copies` };
        } else {
          const key = `${d.sinkKey}\0${item.location}`;
          let p = cache.get(key);
          if (!p) {
            p = check(configured, item, o.signal, logger);
            cache.set(key, p);
          }
          result = await p;
        }
        report.checked++;
        results.push(result.status);
        const finding: VerifyFinding = {
          sinkKey: d.sinkKey,
          deliveryId: d.id,
          sourceKey: d.sourceKey,
          assetId: d.assetId,
          resourceKey: item.resourceKey,
          name: item.name,
          location: item.location,
          status: result.status,
          detail: result.detail,
        };
        if (result.status === 'ok') report.ok++;
        else {
          report.findings.push(finding);
          if (result.status === 'missing') report.missing++;
          else if (result.status === 'corrupt') report.corrupt++;
          else if (result.status === 'unverifiable') report.unverifiable++;
          else if (result.status === 'sink-unavailable') report.unavailable++;
          else report.errors++;
          if (result.status === 'missing' || result.status === 'corrupt') o.ledger.markDeliveryBroken(d.id, item.resourceKey, result.status);
        }
        o.onItem?.(finding);
      });
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !o.signal.aborted) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 2) }, worker));
  if (!o.signal.aborted) {
    for (const r of recheck) if (r.expected > 0 && r.results.length === r.expected && r.results.every((x) => x === 'ok')) o.ledger.markDeliveryRestored(r.id);
  }
  return report;
}

async function check(configured: ConfiguredSink, item: StoredResource, signal: AbortSignal, logger: Logger): Promise<{ status: FindingStatus; detail?: string }> {
  try {
    const r = await configured.sink.verify!(item, { signal, logger });
    return { status: r.status, detail: r.detail ?? (r.status === 'corrupt' && r.actual?.sha256 ? `sha256 now ${r.actual.sha256}, expected ${item.hashes.sha256}` : undefined) };
  } catch (err) {
    return { status: 'error', detail: wrapPluginError(err, { stage: 'verify', location: item.location }).describe() };
  }
}

export interface RepairResult {
  /** Broken copies delivered again and verified. */
  repaired: number;
  /** Broken copies still not verified (the source no longer has them, or the sink failed). */
  unrepaired: VerifyFinding[];
  runs: RunReport[];
}

/**
 * `verify --repair`: moves corrupt copies aside (`Sink.discard`), then reruns the pipelines that
 * own the broken sinks; the pipeline re-delivers every delivery that is no longer verified, from
 * the source, when the source still has the asset.
 */
export async function repairDeliveries(o: {
  ledger: Ledger;
  host: PluginHost;
  config: LoadedConfig;
  sinks: Map<string, ConfiguredSink>;
  findings: VerifyFinding[];
  signal: AbortSignal;
  logger?: Logger;
  onEvent?(e: PipelineEvent): void;
}): Promise<RepairResult> {
  const logger = o.logger ?? silentLogger;
  const broken = o.findings.filter((f) => f.status === 'missing' || f.status === 'corrupt');
  for (const f of broken) {
    if (f.status !== 'corrupt') continue;
    const c = o.sinks.get(f.sinkKey);
    const item = o.ledger.deliveryItems(f.deliveryId).find((i) => i.resourceKey === f.resourceKey);
    if (c?.sink.discard && item) await c.sink.discard(item, { signal: o.signal, logger }).catch((err) => logger.warn(`could not move ${f.location} aside: ${(err as Error).message}`));
  }
  const pipelines = [...new Set(broken.flatMap((f) => o.sinks.get(f.sinkKey)?.pipelines ?? []))];
  const runs: RunReport[] = [];
  for (const pipeline of pipelines) {
    runs.push(await runConfiguredPipeline({ host: o.host, config: o.config, pipeline, ledger: o.ledger, signal: o.signal, logger, onEvent: o.onEvent }));
  }
  const unrepaired = broken.filter((f) => o.ledger.deliveryById(f.deliveryId)?.state !== 'verified');
  return { repaired: broken.length - unrepaired.length, unrepaired, runs };
}
