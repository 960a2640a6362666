import type { Ledger } from '@keepsake/core';

export interface StatusOptions {
  /** Only assets from this pipeline's source(s) and copies in its sinks. */
  pipeline?: string;
  /** Verified copies an asset needs to count as protected (default 2). */
  minCopies?: number;
  /** Protected also needs one off-site copy. */
  requireOffsite?: boolean;
}

export interface CopyBuckets {
  /** Assets with 0, 1, 2 and 3+ verified copies. */
  assets: [number, number, number, number];
  bytes: [number, number, number, number];
}

export interface AssetAtRisk {
  sourceKey: string;
  assetId: string;
  capturedAt: string | null;
  bytes: number;
  copies: number;
  offsiteCopies: number;
  /** When `prune` deleted it from its source (null: the source still has it). */
  prunedAt: string | null;
  reason: string;
}

export interface SourceStatus {
  sourceKey: string;
  assets: number;
  bytes: number;
  copies: CopyBuckets;
  /** Assets with at least one off-site verified copy. */
  offsite: number;
  /** Of `assets`, those `prune` deleted from the source: their copies are the only ones left. */
  pruned: number;
  protected: number;
  atRisk: number;
}

export interface YearStatus {
  year: string;
  protected: number;
  atRisk: number;
}

export interface SinkStatus {
  sinkKey: string;
  use: string;
  pipeline: string;
  offsite: boolean;
  canVerify: boolean;
  lastRunAt: string | null;
}

export interface Status {
  generatedAt: string;
  pipeline: string | null;
  minCopies: number;
  requireOffsite: boolean;
  overall: Omit<SourceStatus, 'sourceKey'>;
  sources: SourceStatus[];
  years: YearStatus[];
  sinks: SinkStatus[];
  atRisk: AssetAtRisk[];
}

const bucket = (copies: number) => Math.min(copies, 3) as 0 | 1 | 2 | 3;

/**
 * The 3-2-1 audit: for every asset the ledger knows, pruned ones included (their copies are the only
 * ones left), how many verified copies of *every one* of its resources exist (an asset is only as
 * safe as its least-copied part — a Live Photo whose video has one copy has one copy), and how many
 * of those are off-site. At-risk pruned assets come first in `atRisk`: nothing can copy them again.
 */
export function computeStatus(ledger: Ledger, o: StatusOptions = {}): Status {
  const minCopies = o.minCopies ?? 2;
  const sinks = ledger.sinks(o.pipeline);
  const sinkKeys = sinks.map((s) => s.sinkKey);
  const sources = o.pipeline ? ledger.pipelineSources(o.pipeline).map((p) => p.sourceKey) : undefined;
  ledger.mapForAudit();
  const rows = ledger.assetCopies({ sinkKeys: o.pipeline ? sinkKeys : undefined, sourceKeys: sources, includeDeleted: true });
  const empty = (): Omit<SourceStatus, 'sourceKey'> => ({
    assets: 0,
    bytes: 0,
    copies: { assets: [0, 0, 0, 0], bytes: [0, 0, 0, 0] },
    offsite: 0,
    pruned: 0,
    protected: 0,
    atRisk: 0,
  });
  const overall = empty();
  const perSource = new Map<string, SourceStatus>();
  const perYear = new Map<string, YearStatus>();
  const atRisk: AssetAtRisk[] = [];
  // pruned ones first: only the sinks hold them, so a lost copy there cannot be made again
  const prunedAtRisk: AssetAtRisk[] = [];
  // several versions of one source item (re-shot after a wrap) are separate assets; that is right
  for (const r of rows) {
    const src = perSource.get(r.sourceKey) ?? { sourceKey: r.sourceKey, ...empty() };
    perSource.set(r.sourceKey, src);
    const year = r.capturedLocal?.slice(0, 4) ?? 'unknown';
    const y = perYear.get(year) ?? { year, protected: 0, atRisk: 0 };
    perYear.set(year, y);
    const ok = r.copies >= minCopies && (!o.requireOffsite || r.offsiteCopies >= 1);
    for (const s of [overall, src]) {
      s.assets++;
      s.bytes += r.bytes;
      s.copies.assets[bucket(r.copies)]++;
      s.copies.bytes[bucket(r.copies)] += r.bytes;
      if (r.offsiteCopies >= 1) s.offsite++;
      if (r.prunedAt) s.pruned++;
      if (ok) s.protected++;
      else s.atRisk++;
    }
    if (ok) y.protected++;
    else {
      y.atRisk++;
      const why = r.copies < minCopies ? `${r.copies} verified ${r.copies === 1 ? 'copy' : 'copies'}, needs ${minCopies}` : 'no off-site copy';
      (r.prunedAt ? prunedAtRisk : atRisk).push({
        sourceKey: r.sourceKey,
        assetId: r.assetId,
        capturedAt: r.capturedLocal,
        bytes: r.bytes,
        copies: r.copies,
        offsiteCopies: r.offsiteCopies,
        prunedAt: r.prunedAt,
        reason: r.prunedAt
          ? `${why}; pruned from the source on ${r.prunedAt.slice(0, 10)}, so the source no longer has it and verify --repair cannot copy it again from there`
          : why,
      });
    }
  }
  return {
    generatedAt: new Date().toISOString(),
    pipeline: o.pipeline ?? null,
    minCopies,
    requireOffsite: !!o.requireOffsite,
    overall,
    sources: [...perSource.values()],
    years: [...perYear.values()].sort((a, b) => a.year.localeCompare(b.year)),
    sinks: sinks.map((s) => ({ sinkKey: s.sinkKey, use: s.use, pipeline: s.pipeline, offsite: s.offsite, canVerify: s.canVerify, lastRunAt: s.lastRunAt })),
    atRisk: [...prunedAtRisk, ...atRisk],
  };
}
