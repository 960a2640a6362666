import type { PipelineEvent } from '@keepsake/core';

export interface SinkTally {
  copied: number;
  skipped: number;
  deduped: number;
  /** Dry run: would be copied. */
  planned: number;
  failed: number;
}

/**
 * Folds pipeline events into what a progress line shows. Bytes count source bytes once per asset
 * (the furthest sink's progress), so fanning out to two sinks does not double the total.
 */
export class ProgressState {
  readonly startedAt: number;
  pipeline = '';
  totalAssets: number | undefined;
  totalBytes: number | undefined;
  assetsDone = 0;
  assetsFailed = 0;
  bytesDone = 0;
  retries = 0;
  readonly sinks = new Map<string, SinkTally>();
  private readonly inFlight = new Map<string, { size: number; perSink: Map<string, number>; failed: boolean }>();
  private readonly samples: { t: number; bytes: number }[];

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
    this.samples = [{ t: this.startedAt, bytes: 0 }];
  }

  apply(e: PipelineEvent): void {
    switch (e.type) {
      case 'run-start':
        this.pipeline = e.pipeline;
        for (const s of e.sinks) this.sinks.set(s, { copied: 0, skipped: 0, deduped: 0, planned: 0, failed: 0 });
        break;
      case 'totals':
        if (e.assets !== undefined) this.totalAssets = e.assets;
        if (e.bytes !== undefined) this.totalBytes = e.bytes;
        break;
      case 'asset-start':
        this.inFlight.set(e.assetId, { size: e.bytes, perSink: new Map(), failed: false });
        break;
      case 'progress': {
        const a = this.inFlight.get(e.assetId);
        if (a) a.perSink.set(e.sink ?? '', (a.perSink.get(e.sink ?? '') ?? 0) + e.bytes);
        break;
      }
      case 'item-done': {
        const t = this.tally(e.sink);
        t[e.outcome]++;
        break;
      }
      case 'item-failed': {
        if (e.sink) this.tally(e.sink).failed++;
        const a = this.inFlight.get(e.assetId);
        if (a) a.failed = true;
        else this.assetsFailed++;
        break;
      }
      case 'retry':
        this.retries++;
        break;
      case 'asset-end': {
        const a = this.inFlight.get(e.assetId);
        this.inFlight.delete(e.assetId);
        this.assetsDone++;
        if (a?.failed) this.assetsFailed++;
        this.bytesDone += a?.size ?? 0;
        this.sample();
        break;
      }
      default:
        break;
    }
  }

  private tally(sink: string): SinkTally {
    let t = this.sinks.get(sink);
    if (!t) {
      t = { copied: 0, skipped: 0, deduped: 0, planned: 0, failed: 0 };
      this.sinks.set(sink, t);
    }
    return t;
  }

  /** Source bytes handled so far, including the in-flight part of current assets. */
  bytesSoFar(): number {
    let partial = 0;
    for (const a of this.inFlight.values()) {
      let furthest = 0;
      for (const b of a.perSink.values()) furthest = Math.max(furthest, b);
      partial += Math.min(furthest, a.size);
    }
    return this.bytesDone + partial;
  }

  /**
   * Records (time, bytes) at most every 250 ms, keeping ~20 s of history: a bounded array, so a
   * run of 100k items costs O(1) per item here.
   */
  private sample(): void {
    const t = this.now();
    const last = this.samples[this.samples.length - 1]!;
    if (t - last.t < 250) return;
    this.samples.push({ t, bytes: this.bytesSoFar() });
    if (this.samples.length > 2 && t - this.samples[0]!.t > 20_000) this.samples.shift();
  }

  /** Bytes per second over the recent window (or since start). */
  rate(): number {
    const t = this.now();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    if (dt <= 0.2) return 0;
    return Math.max(0, (this.bytesSoFar() - first.bytes) / dt);
  }

  /** Milliseconds left, by bytes when totals are known, else by asset count. */
  etaMs(): number | undefined {
    if (this.totalBytes !== undefined && this.totalBytes > 0) {
      const r = this.rate();
      if (r <= 0) return undefined;
      return (Math.max(0, this.totalBytes - this.bytesSoFar()) / r) * 1000;
    }
    if (this.totalAssets !== undefined && this.assetsDone > 0) {
      const elapsed = this.now() - this.startedAt;
      return (elapsed / this.assetsDone) * Math.max(0, this.totalAssets - this.assetsDone);
    }
    return undefined;
  }

  fraction(): number {
    if (this.totalBytes) return this.bytesSoFar() / this.totalBytes;
    if (this.totalAssets) return this.assetsDone / this.totalAssets;
    return 0;
  }
}
