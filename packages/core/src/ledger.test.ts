import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from './ledger.js';
import { LEDGER_MIGRATIONS } from './ledger-schema.js';
import { memoryResource } from './testing/memory.js';

const asset = { id: 'IMG_0001', kind: 'photo' as const, resources: [memoryResource('IMG_0001.JPG', new Uint8Array(10))] };

describe('Ledger', () => {
  it('creates the schema with WAL and survives reopening', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'sub', 'ledger.sqlite');
    const l = Ledger.open(path);
    expect(l.schemaVersion).toBe(LEDGER_MIGRATIONS.length);
    expect((l.db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    l.rememberHash('src', 'a.jpg', 10, 5, 'abc');
    l.close();
    const again = Ledger.open(path);
    expect(again.cachedHash('src', 'a.jpg', 10, 5)).toBe('abc');
    again.close();
  });

  it('refuses a ledger from a newer keepsake', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'l.sqlite');
    const l = Ledger.open(path);
    l.db.exec(`PRAGMA user_version = ${LEDGER_MIGRATIONS.length + 1}`);
    l.close();
    expect(() => Ledger.open(path)).toThrow(/newer than this keepsake/);
  });

  it('hash cache misses when size or mtime changed', () => {
    const l = Ledger.open(':memory:');
    l.rememberHash('src', 'a', 10, 5, 'h');
    expect(l.cachedHash('src', 'a', 10, 5)).toBe('h');
    expect(l.cachedHash('src', 'a', 11, 5)).toBeUndefined();
    expect(l.cachedHash('src', 'a', 10, 6)).toBeUndefined();
    expect(l.cachedHash('other', 'a', 10, 5)).toBeUndefined();
  });

  it('tracks one delivery per (asset, sink, chain) through pending → verified', () => {
    const l = Ledger.open(':memory:');
    const run = l.beginRun('p');
    l.recordAsset('src', 'k1', asset, run);
    const id = l.startDelivery('k1', 'sink', '');
    expect(l.delivery('k1', 'sink', '')?.state).toBe('pending');
    expect(l.startDelivery('k1', 'sink', '')).toBe(id);
    const state = l.completeDelivery(
      id,
      { items: [{ resourceKey: 'IMG_0001.JPG', role: 'original', name: 'IMG_0001.JPG', location: '2024/IMG_0001.JPG', size: 10, hashes: { sha256: 'aa' }, verified: true }] },
      'ck',
    );
    expect(state).toBe('verified');
    expect(l.delivery('k1', 'sink', '')?.attempts).toBe(2);
    expect(l.deliveryWithContent('sink', '', 'ck')?.id).toBe(id);
    expect(l.verifiedCopiesOf('aa')).toEqual([{ sinkKey: 'sink', deliveryId: id, location: '2024/IMG_0001.JPG', remoteId: null }]);
    // a later failed retry never downgrades a verified delivery
    l.failDelivery(id, 'boom');
    expect(l.delivery('k1', 'sink', '')?.state).toBe('verified');
  });

  it('an unverified receipt is "delivered", not verified', () => {
    const l = Ledger.open(':memory:');
    l.recordAsset('src', 'k1', asset, l.beginRun('p'));
    const id = l.startDelivery('k1', 'email', '');
    const state = l.completeDelivery(
      id,
      { items: [{ resourceKey: 'r', role: 'original', name: 'r', location: 'msg', size: 1, hashes: { sha256: 'x' }, verified: false }] },
      null,
    );
    expect(state).toBe('delivered');
    expect(l.verifiedCopiesOf('x')).toEqual([]);
  });

  it('persists resumable-upload state until the delivery completes', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'l.sqlite');
    const l = Ledger.open(path);
    l.recordAsset('src', 'k1', asset, l.beginRun('p'));
    const id = l.startDelivery('k1', 'onedrive', '');
    l.resumeStore(id).save('IMG_0001.JPG', { url: 'https://upload/x', offset: 327680 });
    l.close();
    const l2 = Ledger.open(path);
    expect(l2.resumeStore(id).load('IMG_0001.JPG')).toEqual({ url: 'https://upload/x', offset: 327680 });
    l2.completeDelivery(id, { items: [] }, null);
    expect(l2.resumeStore(id).load('IMG_0001.JPG')).toBeUndefined();
  });

  it('records deletions and hides pruned assets', () => {
    const l = Ledger.open(':memory:');
    const run = l.beginRun('p');
    l.recordAsset('src', 'k1', asset, run);
    expect([...l.assets()]).toHaveLength(1);
    l.markDeleted('k1', run);
    expect([...l.assets()]).toHaveLength(0);
    expect([...l.assets({ includeDeleted: true })][0]?.deletedAt).toBeTruthy();
  });

  it('reports a clear error when the ledger cannot be created', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'not-a-dir');
    writeFileSync(file, 'x');
    expect(() => Ledger.open(join(file, 'ledger.sqlite'))).toThrow(/Cannot open the ledger/);
  });

  it('keeps the per-hash copy table in step with verify breaking and restoring a delivery', () => {
    const l = Ledger.open(':memory:');
    l.recordAsset('src', 'k1', asset, l.beginRun('p'));
    l.setResourceHash('k1', 'IMG_0001.JPG', 'ab');
    const item = { resourceKey: 'IMG_0001.JPG', role: 'original' as const, name: 'IMG_0001.JPG', location: 'x', size: 10, hashes: { sha256: 'ab' }, verified: true };
    const a = l.startDelivery('k1', 'nas', '');
    l.completeDelivery(a, { items: [item] }, null);
    const b = l.startDelivery('k1', 'usb', '');
    l.completeDelivery(b, { items: [item] }, null);
    const count = () => l.assetCopies()[0]?.copies;
    expect(count()).toBe(2);
    l.markDeliveryBroken(a, 'IMG_0001.JPG', 'corrupt');
    expect(count()).toBe(1);
    l.markDeliveryRestored(a);
    expect(count()).toBe(2);
    expect(l.assetCopies({ sinkKeys: ['usb'] })[0]?.copies).toBe(1);
  });
});
