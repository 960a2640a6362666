import { type Asset, assetKeyOf, Ledger, type PreparedPipeline, runPipeline } from '@keepsake/core';
import { MemorySink, MemorySource, memoryResource } from '@keepsake/core/testing';
import { describe, expect, it } from 'vitest';
import { parseOlderThan } from './duration.js';
import { renderStatusHtml } from './report-html.js';
import { computeStatus } from './status.js';
import { verifyDeliveries } from './verify.js';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

function live(i: number, year: number): Asset {
  return {
    id: `100APPLE/IMG_${i}`,
    kind: 'live',
    capturedAt: { local: `${year}-06-01T10:00:00`, source: 'exif' },
    resources: [
      memoryResource(`IMG_${i}.HEIC`, bytes(500 + i, i)),
      memoryResource(`IMG_${i}.MOV`, bytes(900 + i, i + 1), { role: 'motion', mediaType: 'video/quicktime' }),
    ],
  };
}

const pipeline = (name: string, src: MemorySource, sinks: MemorySink[], offsite: boolean[] = []): PreparedPipeline => ({
  name,
  source: src,
  transforms: [],
  sinks: sinks.map((sink, i) => ({ sink, use: 'memory', transforms: [], offsite: offsite[i] ?? false })),
  close: async () => {},
});

describe('status', () => {
  it('counts verified copies per asset by its least-copied resource, per year and off-site', async () => {
    const ledger = Ledger.open(':memory:');
    const a = new MemorySink('mem:a');
    const b = new MemorySink('mem:b');
    await runPipeline(pipeline('p', new MemorySource('phone', [live(1, 2021), live(2, 2022), live(3, 2022)]), [a, b], [false, true]), { ledger });
    // a Live Photo whose video reached only one sink
    const c = new MemorySink('mem:c');
    const only = live(4, 2023);
    await runPipeline(pipeline('p', new MemorySource('phone', [only]), [a]), { ledger });
    // its still (same bytes) also arrived from a backup into a third sink: the still has 2 copies, the video 1
    await runPipeline(pipeline('p2', new MemorySource('backup', [{ ...only, resources: [only.resources[0]!] }]), [c]), { ledger });
    const s = computeStatus(ledger);
    expect(s.overall.assets).toBe(5);
    expect(s.overall.copies.assets).toEqual([0, 1, 4, 0]);
    expect(s.overall.offsite).toBe(3);
    expect(s.overall.protected).toBe(4);
    expect(s.atRisk).toMatchObject([{ sourceKey: 'phone', assetId: '100APPLE/IMG_4', copies: 1, reason: '1 verified copy, needs 2' }]);
    expect(s.years).toEqual([
      { year: '2021', protected: 1, atRisk: 0 },
      { year: '2022', protected: 2, atRisk: 0 },
      { year: '2023', protected: 1, atRisk: 1 },
    ]);
    expect(computeStatus(ledger, { requireOffsite: true }).overall.protected).toBe(3);
    expect(computeStatus(ledger, { pipeline: 'p2' }).sources.map((x) => x.sourceKey)).toEqual(['backup']);
    // a changed source item (new version) replaces the old one in the audit
    const changed = live(1, 2021);
    changed.resources[0] = memoryResource('IMG_1.HEIC', bytes(777, 9));
    await runPipeline(pipeline('p', new MemorySource('phone', [changed]), [c]), { ledger });
    expect(computeStatus(ledger).overall.assets).toBe(5);
  });

  it('renders a self-contained page whose numbers equal the JSON', async () => {
    const ledger = Ledger.open(':memory:');
    await runPipeline(pipeline('p', new MemorySource('phone', [live(1, 2020), live(2, 2021)]), [new MemorySink('x')]), { ledger });
    const s = computeStatus(ledger);
    const html = renderStatusHtml(s);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('data-metric="atRisk">2<');
    expect(html).toContain('2 of 2 need attention');
    const embedded = JSON.parse(html.match(/<script type="application\/json" id="keepsake-status">(.*)<\/script>/s)![1]!);
    expect(embedded.overall).toEqual(s.overall);
    expect(renderStatusHtml({ ...s, atRisk: [{ ...s.atRisk[0]!, assetId: '<img src=x>' }] })).not.toContain('<img src=x>');
  });
});

describe('status after prune', () => {
  it('pruned assets stay in the audit; a lost copy of one is at risk, listed first, saying the source no longer has it', async () => {
    const ledger = Ledger.open(':memory:');
    const a = new MemorySink('mem:a');
    const b = new MemorySink('mem:b');
    const shot = [live(1, 2020), live(2, 2022), live(3, 2021)];
    await runPipeline(pipeline('p', new MemorySource('card', shot), [a, b], [false, true]), { ledger });
    // prune deleted IMG_1 and IMG_2 from the card: the sinks now hold the only copies
    for (const x of shot.slice(0, 2)) ledger.markDeleted(assetKeyOf('card', x), null);
    // the camera numbers from IMG_1 again on the emptied card: another photo under the pruned one's id
    const reused: Asset = { ...live(1, 2024), kind: 'photo', resources: [memoryResource('IMG_1.HEIC', bytes(4321, 5))] };
    const c = new MemorySink('mem:c');
    const d = new MemorySink('mem:d');
    await runPipeline(pipeline('p2', new MemorySource('card', [reused]), [c, d]), { ledger });

    let s = computeStatus(ledger);
    expect(s.overall).toMatchObject({ assets: 4, pruned: 2, protected: 4, atRisk: 0 });
    expect(s.overall.copies.assets).toEqual([0, 0, 4, 0]);
    expect(s.sources).toMatchObject([{ sourceKey: 'card', assets: 4, pruned: 2, protected: 4 }]);
    expect(computeStatus(ledger, { pipeline: 'p' }).sources).toMatchObject([{ sourceKey: 'card', pruned: 2 }]);
    // other callers of assetCopies (without includeDeleted) still see only what the source has
    expect(ledger.assetCopies().map((r) => r.assetId)).toEqual(['100APPLE/IMG_3', '100APPLE/IMG_1']);
    expect(ledger.assetCopies({ includeDeleted: true }).filter((r) => r.prunedAt).map((r) => r.assetId)).toEqual(['100APPLE/IMG_1', '100APPLE/IMG_2']);

    // pruned IMG_2 loses its on-site video copy, IMG_3 (still on the card, captured earlier) its off-site still
    a.stored.delete('100APPLE/IMG_2/IMG_2.MOV');
    b.stored.delete('100APPLE/IMG_3/IMG_3.HEIC');
    const sinks = new Map([
      ['mem:a', { sink: a, use: 'memory', pipeline: 'p', pipelines: ['p'], offsite: false }],
      ['mem:b', { sink: b, use: 'memory', pipeline: 'p', pipelines: ['p'], offsite: true }],
    ]);
    expect(await verifyDeliveries({ ledger, sinks, signal: new AbortController().signal })).toMatchObject({ missing: 2 });
    s = computeStatus(ledger);
    expect(s.overall).toMatchObject({ assets: 4, pruned: 2, protected: 2, atRisk: 2 });
    expect(s.atRisk.map((x) => x.assetId)).toEqual(['100APPLE/IMG_2', '100APPLE/IMG_3']);
    expect(s.atRisk[0]).toMatchObject({ sourceKey: 'card', copies: 1, offsiteCopies: 1, prunedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(s.atRisk[0]!.reason).toMatch(/^1 verified copy, needs 2; pruned from the source on \d{4}-\d\d-\d\d, so the source no longer has it and verify --repair cannot copy it again from there$/);
    expect(s.atRisk[1]).toMatchObject({ prunedAt: null, reason: '1 verified copy, needs 2' });
    expect(s.years).toEqual([
      { year: '2020', protected: 1, atRisk: 0 },
      { year: '2021', protected: 0, atRisk: 1 },
      { year: '2022', protected: 0, atRisk: 1 },
      { year: '2024', protected: 1, atRisk: 0 },
    ]);

    const html = renderStatusHtml(s);
    expect(html).toContain('data-metric="pruned">2<');
    expect(html).toMatch(/<b>1<\/b> of them is at risk \(listed first below\)/);
    expect(html.indexOf('100APPLE/IMG_2')).toBeLessThan(html.indexOf('100APPLE/IMG_3'));
    // nothing pruned: no pruned line
    expect(renderStatusHtml({ ...s, overall: { ...s.overall, pruned: 0 }, atRisk: [] })).not.toContain('data-metric="pruned"');
  });
});

describe('verify', () => {
  it('finds corrupt and missing copies, marks them broken, and calls email-like sinks unverifiable', async () => {
    const ledger = Ledger.open(':memory:');
    const a = new MemorySink('mem:a');
    const mail = new MemorySink('mem:mail', { canVerify: false });
    const orig = mail.put.bind(mail);
    mail.put = async (x, ctx) => {
      const r = await orig(x, ctx);
      for (const i of r.items) i.verified = false;
      return r;
    };
    await runPipeline(pipeline('p', new MemorySource('phone', [live(1, 2020), live(2, 2020)]), [a, mail]), { ledger });
    const [first, second] = [...a.stored.keys()];
    a.stored.get(first!)![0]! ^= 0xff;
    a.stored.delete(second!);
    const sinks = new Map([
      ['mem:a', { sink: a, use: 'memory', pipeline: 'p', pipelines: ['p'], offsite: false }],
      ['mem:mail', { sink: mail, use: 'email', pipeline: 'p', pipelines: ['p'], offsite: false }],
    ]);
    const r = await verifyDeliveries({ ledger, sinks, signal: new AbortController().signal });
    expect(r.checked).toBe(8);
    expect(r.corrupt).toBe(1);
    expect(r.missing).toBe(1);
    expect(r.unverifiable).toBe(4);
    expect(r.ok).toBe(2);
    expect(r.findings.find((f) => f.status === 'corrupt')?.location).toBe(first);
    expect(r.findings.filter((f) => f.status === 'missing' || f.status === 'corrupt').map((f) => f.assetId)).toEqual(['100APPLE/IMG_1', '100APPLE/IMG_1']);
    expect(computeStatus(ledger).overall.copies.assets).toEqual([1, 1, 0, 0]);
    // broken deliveries are re-checked too; a sink missing from the config cannot be checked
    const gone = await verifyDeliveries({ ledger, sinks: new Map(), signal: new AbortController().signal });
    expect(gone).toMatchObject({ checked: 8, unavailable: 8, ok: 0 });
  });
});

describe('parseOlderThan', () => {
  it('accepts durations and dates, rejects nonsense', () => {
    const now = new Date(2026, 10, 28, 12, 0, 0);
    expect(parseOlderThan('30d', now)).toBe('2026-10-29T12:00:00');
    expect(parseOlderThan('1y', now)).toBe('2025-11-28T12:00:00');
    expect(parseOlderThan('2024-01-31', now)).toBe('2024-01-31T00:00:00');
    expect(() => parseOlderThan('soon', now)).toThrow(/not a duration or a date/);
  });
});

describe('shared destinations and skipped sidecars', () => {
  it('a sink two pipelines share counts for both; skipped sidecars are neither copies nor findings', async () => {
    const ledger = Ledger.open(':memory:');
    const nas = new MemorySink('mem:nas');
    const cloud = new MemorySink('mem:cloud');
    const orig = cloud.put.bind(cloud);
    cloud.put = async (x, ctx) => {
      const r = await orig(x, ctx);
      r.items = r.items.map((i) => (i.name.endsWith('.MOV') ? { ...i, skipped: true, verified: false, location: 'skipped:no videos' } : i));
      return r;
    };
    await runPipeline(pipeline('phoneA', new MemorySource('A', [live(1, 2020)]), [nas, cloud], [false, true]), { ledger });
    await runPipeline(pipeline('phoneB', new MemorySource('B', [live(2, 2021)]), [nas]), { ledger });
    const a = computeStatus(ledger, { pipeline: 'phoneA' });
    expect(a.sinks.map((x) => x.sinkKey)).toEqual(['mem:cloud', 'mem:nas']);
    // the still has 2 copies, the video only 1 (the cloud skipped it): the asset has 1
    expect(a.overall.copies.assets).toEqual([0, 1, 0, 0]);
    expect(computeStatus(ledger, { pipeline: 'phoneB' }).overall.copies.assets).toEqual([0, 1, 0, 0]);
    const sinks = new Map([
      ['mem:nas', { sink: nas, use: 'memory', pipeline: 'phoneA', pipelines: ['phoneA', 'phoneB'], offsite: false }],
      ['mem:cloud', { sink: cloud, use: 'memory', pipeline: 'phoneA', pipelines: ['phoneA'], offsite: true }],
    ]);
    const r = await verifyDeliveries({ ledger, sinks, signal: new AbortController().signal });
    expect(r).toMatchObject({ checked: 5, ok: 5, missing: 0 });
  });
});
