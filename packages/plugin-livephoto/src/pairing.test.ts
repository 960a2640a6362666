import { describe, expect, it } from 'vitest';
import { decidePair, type PairEvidence, pairDiagnostic } from './pairing.js';

const A = 'E905E6C6-C747-4805-942F-9904A0281F02';
const B = '11111111-2222-3333-4444-555555555555';
const at = (local: string, offset?: string) => ({ local, ...(offset ? { instantMs: Date.parse(`${local}${offset}`) } : {}) });

function decide(evidence: PairEvidence, still = 'IMG_0001.HEIC', motion = 'IMG_0001.MOV') {
  return decidePair(still, motion, evidence, { maxTimeDifferenceSeconds: 5 });
}

describe('decidePair', () => {
  it('pairs by equal ContentIdentifier regardless of names and times', () => {
    const r = decide({ still: { contentIdentifier: A, captured: at('2021-04-10T11:44:00') }, motion: { contentIdentifier: A.toLowerCase() } }, 'IMG_0001.HEIC', 'IMG_9999.MOV');
    expect(r).toMatchObject({ status: 'paired', method: 'content-identifier', contentIdentifier: A });
  });

  it('reports a mismatch when the identifiers differ, even with the same name and time', () => {
    const t = at('2021-04-10T11:44:00', '+01:00');
    const r = decide({ still: { contentIdentifier: A, captured: t }, motion: { contentIdentifier: B, captured: t } });
    expect(r.status).toBe('mismatch');
    expect(r.reason).toContain(A);
    expect(r.reason).toContain(B);
  });

  it('falls back to name and time when the MOV lost its identifier', () => {
    const r = decide({
      still: { contentIdentifier: A, captured: at('2021-04-10T11:44:00.814', '+01:00') },
      motion: { captured: at('2021-04-10T11:43:59', '+01:00') },
    });
    expect(r).toMatchObject({ status: 'paired', method: 'name-and-time', secondsApart: 1.8 });
    expect(r.reason).toContain('IMG_0001.MOV carries no ContentIdentifier');
  });

  it('compares instants when both zones are known (a UTC movie time against a local still)', () => {
    const r = decide({ still: { captured: at('2021-04-10T11:44:00', '+01:00') }, motion: { captured: { instantMs: Date.parse('2021-04-10T10:43:58Z') } } });
    expect(r).toMatchObject({ status: 'paired', secondsApart: 2 });
  });

  it('compares wall times when a zone is missing on both sides', () => {
    expect(decide({ still: { captured: at('2021-04-10T11:44:00') }, motion: { captured: at('2021-04-10T11:43:58') } })).toMatchObject({ status: 'paired', secondsApart: 2 });
  });

  it('reports a mismatch when times are too far apart or names differ', () => {
    expect(decide({ still: { captured: at('2021-04-10T11:44:00') }, motion: { captured: at('2021-04-10T11:43:50') } })).toMatchObject({ status: 'mismatch', secondsApart: 10 });
    expect(decide({ still: { captured: at('2021-04-10T11:44:00') }, motion: { captured: at('2021-04-10T11:44:00') } }, 'IMG_0001.HEIC', 'IMG_0002.MOV').status).toBe('mismatch');
  });

  it('says unverified when nothing can be compared', () => {
    expect(decide({ still: {}, motion: {} })).toMatchObject({ status: 'unverified', reason: expect.stringContaining('neither file carries a ContentIdentifier') });
    // A UTC-only movie time cannot be compared to a still without a zone.
    expect(decide({ still: { captured: at('2021-04-10T11:44:00') }, motion: { captured: { instantMs: 0 } } }).status).toBe('unverified');
  });
});

describe('pairDiagnostic', () => {
  const asset = { id: 'x', kind: 'live' as const, resources: [] };
  it('maps each outcome to its diagnostic', () => {
    expect(pairDiagnostic({ status: 'paired', method: 'content-identifier', reason: '' }, asset)).toBeUndefined();
    expect(pairDiagnostic({ status: 'paired', method: 'name-and-time', reason: 'r' }, asset)).toMatchObject({ level: 'info', source: 'livephoto:paired-by-name' });
    expect(pairDiagnostic({ status: 'mismatch', reason: 'r' }, asset)).toMatchObject({ level: 'warning', source: 'livephoto:mismatch' });
    expect(pairDiagnostic({ status: 'unverified', reason: 'r' }, asset)).toMatchObject({ level: 'warning', source: 'livephoto:unverified' });
  });
});
