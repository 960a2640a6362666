import { KeepsakeError } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { bar, formatBytes, formatDuration } from './format.js';
import { ProgressState } from './progress-state.js';

describe('ProgressState', () => {
  it('counts source bytes once per asset even with two sinks, and tallies outcomes per sink', () => {
    let t = 0;
    const s = new ProgressState(() => t);
    s.apply({ type: 'run-start', pipeline: 'p', runId: 1, sinks: ['a', 'b'] });
    s.apply({ type: 'totals', assets: 2, bytes: 300 });
    s.apply({ type: 'asset-start', assetId: 'x', bytes: 100 });
    s.apply({ type: 'progress', assetId: 'x', sink: 'a', bytes: 60 });
    s.apply({ type: 'progress', assetId: 'x', sink: 'b', bytes: 40 });
    expect(s.bytesSoFar()).toBe(60);
    s.apply({ type: 'progress', assetId: 'x', sink: 'a', bytes: 40 });
    s.apply({ type: 'progress', assetId: 'x', sink: 'b', bytes: 60 });
    s.apply({ type: 'item-done', assetId: 'x', sink: 'a', outcome: 'copied', bytes: 100 });
    s.apply({ type: 'item-done', assetId: 'x', sink: 'b', outcome: 'deduped', bytes: 100 });
    t = 10_000;
    s.apply({ type: 'asset-end', assetId: 'x' });
    expect(s.bytesSoFar()).toBe(100);
    expect(s.sinks.get('a')).toMatchObject({ copied: 1, deduped: 0 });
    expect(s.sinks.get('b')).toMatchObject({ copied: 0, deduped: 1 });
    // 100 bytes in 10 s → 200 bytes left take 20 s
    expect(s.rate()).toBeCloseTo(10);
    expect(s.etaMs()).toBeCloseTo(20_000);
    expect(s.fraction()).toBeCloseTo(1 / 3);
  });

  it('marks an asset failed once however many sinks failed it', () => {
    const s = new ProgressState(() => 0);
    s.apply({ type: 'run-start', pipeline: 'p', runId: 1, sinks: ['a', 'b'] });
    s.apply({ type: 'asset-start', assetId: 'x', bytes: 5 });
    const error = new KeepsakeError('SINK_WRITE_FAILED', 'disk full');
    s.apply({ type: 'item-failed', assetId: 'x', sink: 'a', error });
    s.apply({ type: 'item-failed', assetId: 'x', sink: 'b', error });
    s.apply({ type: 'asset-end', assetId: 'x' });
    expect(s.assetsFailed).toBe(1);
    expect(s.sinks.get('a')!.failed).toBe(1);
  });
});

describe('format', () => {
  it('formats sizes, durations and bars', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(2_000_000_000)).toBe('2.0 GB');
    expect(formatDuration(65_000)).toBe('1m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
    expect(bar(0.5, 10)).toBe('█████     ');
    expect(bar(1, 4)).toBe('████');
    expect(bar(0, 3)).toHaveLength(3);
  });
});
