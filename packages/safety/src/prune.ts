import {
  type Asset,
  assetKeyOf,
  type Ledger,
  type LoadedConfig,
  type Logger,
  KeepsakeError,
  type PluginHost,
  sha256Of,
  silentLogger,
  wrapPluginError,
} from '@keepsake/core';
import { realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { type ConfiguredSink, openConfiguredSinks } from './configured-sinks.js';

export interface PruneSummary {
  count: number;
  bytes: number;
  oldest: string | null;
  newest: string | null;
}

export interface PruneCandidate {
  assetId: string;
  capturedAt: string | null;
  bytes: number;
  names: string[];
}

export interface PruneReport {
  /** `deleted`: deletions ran; `dry-run`/`cancelled`: nothing deleted; `list-only`: the source cannot delete safely. */
  mode: 'deleted' | 'dry-run' | 'list-only' | 'cancelled';
  /** Why the source cannot delete, and what to do instead (list-only). */
  note?: string;
  safe: PruneSummary;
  candidates: PruneCandidate[];
  kept: { assetId: string; reason: string }[];
  deleted: number;
  deletedBytes: number;
  failed: { assetId: string; error: string }[];
}

export interface PruneOptions {
  ledger: Ledger;
  host: PluginHost;
  config: LoadedConfig;
  pipeline: string;
  /** Verified copies every resource needs (default 2). */
  minCopies?: number;
  requireOffsite?: boolean;
  /** Only assets captured before this local wall time (see parseOlderThan). */
  capturedBefore?: string;
  dryRun?: boolean;
  /** Asked once with the summary before anything is deleted; false cancels. Absent = yes. */
  confirm?(summary: PruneSummary, candidates: PruneCandidate[]): Promise<boolean>;
  signal: AbortSignal;
  logger?: Logger;
}

interface Copy {
  sinkKey: string;
  deliveryId: number;
  location: string;
}

/**
 * Frees space on the source only where it is safe: every resource of an asset (the still, the
 * Live Photo video, edited renders, .AAE) must have ≥ N verified copies (one off-site if asked),
 * and each copy is re-checked right before the asset is deleted. Sources that cannot delete safely
 * (an iPhone over AFC, an iTunes backup) get the list of what is safe to delete by hand instead.
 */
export async function prune(o: PruneOptions): Promise<PruneReport> {
  const logger = o.logger ?? silentLogger;
  const minCopies = o.minCopies ?? 2;
  if (!Number.isInteger(minCopies) || minCopies < 1) {
    throw new KeepsakeError('OPTION_INVALID', `minCopies must be a whole number ≥ 1 (got ${minCopies})`, { stage: 'config', hint: 'Use --min-copies 2 or more.' });
  }
  const p = o.config.config.pipelines[o.pipeline]!;
  const source = await o.host.createSource(p.source, `pipelines.${o.pipeline}.source`, { configDir: o.config.dir, pipeline: o.pipeline, signal: o.signal, logger });
  const opened = await openConfiguredSinks(o.host, o.config, { signal: o.signal, logger });
  // off-site as configured now: a sink the config no longer marks off-site must not count as one
  const offsite = new Map([...opened.sinks].map(([k, c]) => [k, c.offsite]));
  const place = await placesOf(opened.sinks);
  /** Distinct places holding these copies: one folder reached under two sink keys is one copy. */
  const placesHolding = (copies: Copy[]) => new Set(copies.map((c) => place.get(c.sinkKey) ?? c.sinkKey));
  const report: PruneReport = {
    mode: 'dry-run',
    safe: { count: 0, bytes: 0, oldest: null, newest: null },
    candidates: [],
    kept: [],
    deleted: 0,
    deletedBytes: 0,
    failed: [],
  };
  const plan: { asset: Asset; assetKey: string; copies: Copy[][] }[] = [];
  const enough = (copiesPerResource: Copy[][]) =>
    copiesPerResource.every((copies) => placesHolding(copies).size >= minCopies && (!o.requireOffsite || copies.some((c) => offsite.get(c.sinkKey))));
  try {
    for await (const asset of source.scan({ signal: o.signal, logger, reportTotals: () => {} })) {
      const assetKey = assetKeyOf(source.key, asset);
      if (o.capturedBefore && !(asset.capturedAt && asset.capturedAt.local < o.capturedBefore)) {
        if (!asset.capturedAt) report.kept.push({ assetId: asset.id, reason: 'no capture date, so --older-than cannot apply' });
        continue;
      }
      const copies: Copy[][] = [];
      let reason: string | undefined;
      for (const r of asset.resources) {
        const sha = o.ledger.cachedHash(source.key, r.key, r.size, r.mtimeMs);
        if (!sha) {
          reason = `${r.name} has not been backed up (or changed since)`;
          break;
        }
        const c = o.ledger.verifiedCopiesOf(sha);
        const places = placesHolding(c).size;
        if (places < minCopies) {
          reason = `${r.name} has ${places} verified ${places === 1 ? 'copy' : 'copies'}, needs ${minCopies}`;
          break;
        }
        if (o.requireOffsite && !c.some((x) => offsite.get(x.sinkKey))) {
          reason = `${r.name} has no off-site copy`;
          break;
        }
        copies.push(c);
      }
      if (reason) {
        report.kept.push({ assetId: asset.id, reason });
        continue;
      }
      plan.push({ asset, assetKey, copies });
      const bytes = asset.resources.reduce((n, r) => n + (r.size ?? 0), 0);
      const at = asset.capturedAt?.local ?? null;
      report.candidates.push({ assetId: asset.id, capturedAt: at, bytes, names: asset.resources.map((r) => r.name) });
      report.safe.count++;
      report.safe.bytes += bytes;
      if (at && (!report.safe.oldest || at < report.safe.oldest)) report.safe.oldest = at;
      if (at && (!report.safe.newest || at > report.safe.newest)) report.safe.newest = at;
    }

    if (!source.capabilities.canDelete || !source.delete) {
      report.mode = 'list-only';
      report.note =
        source.capabilities.deleteNote ??
        'This source cannot delete items, so nothing was deleted. The list shows what is safe to delete by hand.';
      return report;
    }
    if (o.dryRun || plan.length === 0) return report;
    if (o.confirm && !(await o.confirm(report.safe, report.candidates))) {
      report.mode = 'cancelled';
      return report;
    }
    report.mode = 'deleted';
    for (const { asset, assetKey, copies } of plan) {
      if (o.signal.aborted) break;
      // re-check every copy right now (a fresh hash where the sink can), then count again
      const fresh: Copy[][] = [];
      for (const perResource of copies) {
        const ok: Copy[] = [];
        for (const c of perResource) {
          const sink = opened.sinks.get(c.sinkKey)?.sink;
          const item = o.ledger.deliveryItems(c.deliveryId).find((i) => i.location === c.location);
          if (!sink?.verify || !item) continue;
          const r = await sink.verify(item, { signal: o.signal, logger }).catch(() => ({ status: 'error' as const }));
          if (r.status === 'ok') ok.push(c);
          else if (r.status === 'missing' || r.status === 'corrupt') o.ledger.markDeliveryBroken(c.deliveryId, item.resourceKey, r.status);
        }
        fresh.push(ok);
      }
      // Ctrl-C during the re-check: copies not checked are not findings; stop with the report
      if (o.signal.aborted) break;
      if (!enough(fresh)) {
        report.kept.push({ assetId: asset.id, reason: 're-check before deleting found fewer good copies than required' });
        continue;
      }
      // the source itself must still hold exactly the bytes that were copied: a file edited in
      // place (same size and mtime) would otherwise be deleted with no copy of its current bytes
      let changed: string | undefined;
      try {
        changed = await sourceChanged(asset, copies, o.ledger, source.key, o.signal);
      } catch (err) {
        if (o.signal.aborted) break;
        report.kept.push({ assetId: asset.id, reason: `could not re-read it at the source: ${wrapPluginError(err, { stage: 'delete', assetId: asset.id }).describe()}` });
        continue;
      }
      if (changed) {
        report.kept.push({ assetId: asset.id, reason: `${changed} changed since it was backed up; run keepsake again first` });
        continue;
      }
      try {
        await source.delete(asset, { signal: o.signal, logger });
        o.ledger.markDeleted(assetKey, null);
        report.deleted++;
        report.deletedBytes += asset.resources.reduce((n, r) => n + (r.size ?? 0), 0);
      } catch (err) {
        report.failed.push({ assetId: asset.id, error: wrapPluginError(err, { stage: 'delete', assetId: asset.id }).describe() });
      }
    }
    return report;
  } finally {
    await opened.close();
    await source.close?.().catch(() => {});
  }
}

/**
 * Where each folder sink really stores: the real path of its root, with a root inside another
 * sink's root mapped to the outer one. Two sink keys for one folder (`/mnt/nas` and a symlink
 * to it, or `/mnt/nas` and `/mnt/nas/photos`) then hold one copy, not two: the second sink finds
 * the first one's file and records it as its own (deduped). Other sinks are their own place.
 */
async function placesOf(sinks: Map<string, ConfiguredSink>): Promise<Map<string, string>> {
  const roots = new Map<string, string>();
  for (const [key, c] of sinks) {
    if (c.use !== 'folder' || !key.startsWith('folder:')) continue;
    const real = await realpath(key.slice('folder:'.length)).catch(() => undefined);
    if (real) roots.set(key, real);
  }
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);
  const place = new Map<string, string>();
  for (const [key, real] of roots) {
    let outer = real;
    for (const other of roots.values()) if (within(outer, other)) outer = other;
    place.set(key, `folder:${outer}`);
  }
  return place;
}

/** Re-hashes every resource at the source; returns the name of the first whose bytes differ from its copies. */
async function sourceChanged(asset: Asset, copies: Copy[][], ledger: Ledger, sourceKey: string, signal: AbortSignal): Promise<string | undefined> {
  for (const [i, r] of asset.resources.entries()) {
    const expected = ledger.cachedHash(sourceKey, r.key, r.size, r.mtimeMs);
    const { sha256 } = await sha256Of(r.open({ signal }));
    if (!expected || sha256 !== expected || copies[i]?.length === 0) return r.name;
  }
  return undefined;
}
