import type { RunReport } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { ProgressRenderer } from './progress-renderer.js';
import { ProgressState } from './progress-state.js';
import { formatReport } from './report.js';

const base: RunReport = {
  pipeline: 'iphone',
  runId: 7,
  startedAt: '2026-01-01T10:00:00.000Z',
  endedAt: '2026-01-01T10:01:05.000Z',
  aborted: false,
  dryRun: false,
  assets: 1200,
  copied: 1000,
  skipped: 1300,
  deduped: 98,
  planned: 0,
  failed: 2,
  bytesCopied: 4_200_000_000,
  failures: [
    {
      assetId: '100APPLE/IMG_0100',
      sink: 'folder:/mnt/nas',
      error: { code: 'SOURCE_READ_FAILED', message: 'Permission denied', location: '/media/sd/DCIM/100APPLE/IMG_0100.JPG', hint: 'Check the file permissions.' },
    },
    { assetId: '100APPLE/IMG_0101', error: { code: 'SOURCE_ITEM_VANISHED', message: 'IMG_0101.JPG disappeared' } },
  ],
  diagnostics: [{ assetId: '100APPLE/IMG_0009', diagnostic: { level: 'warning', source: 'folder:empty-file', message: 'IMG_0009.JPG is empty' } }],
};

describe('formatReport', () => {
  it('lists counts, then every failure with its location and hint, then what to do', () => {
    const text = formatReport(base);
    expect(text).toContain('Run iphone #7: finished with failures in 1m05s');
    expect(text).toContain('1,000 copied (4.2 GB)');
    expect(text).toContain('1,300 skipped, already verified');
    expect(text).toContain('98 deduped');
    expect(text).toContain('✗ 100APPLE/IMG_0100 → folder:/mnt/nas: SOURCE_READ_FAILED: Permission denied');
    expect(text).toContain('at: /media/sd/DCIM/100APPLE/IMG_0100.JPG');
    expect(text).toContain('hint: Check the file permissions.');
    expect(text).toContain('IMG_0101: SOURCE_ITEM_VANISHED');
    expect(text).toContain('IMG_0009.JPG is empty (folder:empty-file)');
    expect(text).toContain('run again');
  });

  it('says interrupted, stopped or dry run plainly', () => {
    expect(formatReport({ ...base, failed: 0, failures: [], aborted: true })).toContain('Interrupted: run the same command again');
    const stopped = formatReport({ ...base, stoppedBy: { code: 'QUOTA_EXHAUSTED', message: 'OneDrive is full', hint: 'Free space.' } });
    expect(stopped).toContain('Stopped: QUOTA_EXHAUSTED: OneDrive is full');
    const dry = formatReport({ ...base, dryRun: true, planned: 42, failed: 0, failures: [] }, { dryRun: true });
    expect(dry).toContain('Dry run iphone');
    expect(dry).toContain('42 would be copied');
    expect(dry).not.toContain('copied (');
  });
});

describe('ProgressRenderer', () => {
  it('renders counts, bytes and per-sink tallies within the terminal width', () => {
    const s = new ProgressState(() => 0);
    s.apply({ type: 'run-start', pipeline: 'iphone', runId: 1, sinks: ['folder:/mnt/a', 'onedrive:me'] });
    s.apply({ type: 'totals', assets: 5000, bytes: 9_000_000_000 });
    s.apply({ type: 'item-done', assetId: 'x', sink: 'folder:/mnt/a', outcome: 'copied', bytes: 1 });
    const out = { columns: 60, write: () => true } as unknown as NodeJS.WriteStream;
    const lines = new ProgressRenderer(out, s).render();
    expect(lines[0]).toContain('0/5,000 items');
    expect(lines[0]).toContain('/9.0 GB');
    expect(lines[1]).toContain('→ folder:/mnt/a: 1 copied');
    expect(lines[2]).toContain('→ onedrive:me: 0 copied');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(59);
  });

  it('shows a spinner and no ETA while the source has not reported totals', () => {
    const s = new ProgressState(() => 0);
    s.apply({ type: 'run-start', pipeline: 'card', runId: 1, sinks: ['folder:/a'] });
    s.apply({ type: 'asset-start', assetId: 'x', bytes: 2_000_000 });
    s.apply({ type: 'asset-end', assetId: 'x' });
    const out = { columns: 100, write: () => true } as unknown as NodeJS.WriteStream;
    const [head] = new ProgressRenderer(out, s).render();
    expect(head).toMatch(/^card [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] 1 items {2}2\.0 MB$/);
  });
});
