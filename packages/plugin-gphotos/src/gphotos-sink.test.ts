import { randomBytes } from 'node:crypto';
import { type Asset, isKeepsakeError, type KeepsakeError, type Receipt } from '@keepsake/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeGooglePhotos, startFakeGooglePhotos } from './fake-google-photos.js';
import type { GPhotosSink } from './gphotos-sink.js';
import { factoryContext, memoryResource, persistentResume, photo, putContext, sha256, sinkForFake } from './test-support.js';

let fake: FakeGooglePhotos;
const sinks: GPhotosSink[] = [];
beforeEach(async () => {
  fake = await startFakeGooglePhotos();
});
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close().catch(() => {});
  await fake.close();
});

async function sink(...args: Parameters<typeof sinkForFake> extends [unknown, ...infer R] ? R : never): Promise<GPhotosSink> {
  const s = await sinkForFake(fake, ...args);
  sinks.push(s);
  return s;
}

type Outcome = { ok: true; r: Receipt } | { ok: false; e: KeepsakeError };
/** What the pipeline does: many puts in flight, then flush, then every put settles. */
async function putAll(s: GPhotosSink, assets: Asset[], resume = persistentResume()): Promise<Outcome[]> {
  const all = assets.map((a) =>
    s.put(a, putContext(resume)).then(
      (r): Outcome => ({ ok: true, r }),
      (e: KeepsakeError): Outcome => ({ ok: false, e }),
    ),
  );
  await new Promise((r) => setTimeout(r, 10));
  await s.flush();
  return Promise.all(all);
}

describe('gphotos sink against a local fake of the Library API', () => {
  it('raw uploads: creates one item per photo with the exact bytes; refreshes the expired token first', async () => {
    const s = await sink(factoryContext());
    const assets = [photo('IMG_0001.JPG', 5000), photo('IMG_0002.HEIC', 20_000), photo('IMG_0003.PNG', 1)];
    const out = await putAll(s, assets);
    expect(out.every((o) => o.ok)).toBe(true);
    expect(fake.counts.rawUploads).toBe(3);
    expect(fake.counts.refreshes).toBe(1);
    expect(fake.batchSizes).toEqual([3]);
    for (const [i, a] of assets.entries()) {
      const item = (out[i] as { r: Receipt }).r.items[0]!;
      const stored = fake.items.find((x) => x.id === item.remoteId)!;
      expect(stored.filename).toBe(a.resources[0]!.name);
      expect(stored.sha256).toBe(a.resources[0]!.sha256);
      expect(stored.mimeType).toBe(a.resources[0]!.mediaType);
      expect(item).toMatchObject({ verified: true, size: a.resources[0]!.size, hashes: { sha256: a.resources[0]!.sha256 } });
    }
    expect(await s.verify((out[0] as { r: Receipt }).r.items[0]!, { signal: new AbortController().signal })).toMatchObject({ status: 'ok' });
  });

  it('resumable uploads for large files, in granularity-sized chunks', async () => {
    const s = await sink(factoryContext());
    const video: Asset = { id: 'IMG_0004', kind: 'video', resources: [memoryResource('IMG_0004.MOV', randomBytes(100_000))] };
    const [o] = await putAll(s, [video]);
    expect(o!.ok).toBe(true);
    expect(fake.counts.rawUploads).toBe(0);
    expect(fake.counts.resumableStarts).toBe(1);
    expect(fake.counts.chunks).toBe(Math.ceil(100_000 / (16 * 1024)));
    expect(fake.items[0]!.sha256).toBe(video.resources[0]!.sha256);
  });

  it('resumes after a kill mid-upload from the server offset, and a rerun never creates a second copy', async () => {
    const fctx = factoryContext();
    const resume = persistentResume();
    const video: Asset = { id: 'IMG_0005', kind: 'video', resources: [memoryResource('IMG_0005.MOV', randomBytes(90_000))] };
    let killedState: Map<string, unknown> | undefined;
    const offsets: number[] = [];
    fake.onChunk = ({ offset }) => {
      offsets.push(offset);
      if (offset === 32 * 1024 && !killedState) {
        killedState = resume.snapshot(); // the process dies here: only what was saved survives
        return 'hang';
      }
      return 'ok';
    };
    const first = await sinkForFake(fake, fctx); // not closed gracefully: it is "killed"
    void first.put(video, putContext(resume)).catch(() => {});
    await expect.poll(() => killedState, { timeout: 5000 }).toBeDefined();

    const afterKill = persistentResume(killedState);
    const second = await sink(fctx);
    const [o] = await putAll(second, [video], afterKill);
    expect(o!.ok).toBe(true);
    expect(fake.counts.resumableStarts).toBe(1); // same session, continued
    expect(fake.counts.queries).toBeGreaterThanOrEqual(1);
    expect(offsets.slice(0, 3)).toEqual([0, 16 * 1024, 32 * 1024]);
    expect(offsets[3]).toBe(32 * 1024); // resent from where the server was, not from 0
    expect(fake.items).toHaveLength(1);
    expect(fake.items[0]!.sha256).toBe(video.resources[0]!.sha256);

    // rerun (e.g. the ledger write was lost): finds the created item by id, creates nothing
    const third = await sink(fctx);
    const [again] = await putAll(third, [video], afterKill);
    expect(again!.ok && again!.r.items[0]!.remoteId).toBe(fake.items[0]!.id);
    expect(fake.items).toHaveLength(1);
    expect(fake.counts.resumableStarts).toBe(1);
  });

  it('reuses a saved upload token instead of uploading again when only batchCreate was missing', async () => {
    const fctx = factoryContext();
    const resume = persistentResume();
    const a = photo('IMG_0006.JPG', 3000);
    fake.failFileNames.add('never'); // no-op, keeps the fake in its default mode
    const s = await sink(fctx);
    const pending = s.put(a, putContext(resume));
    await expect.poll(() => fake.counts.rawUploads).toBe(1);
    // the process "dies" before flush: the token is saved, no item exists
    const saved = resume.snapshot();
    void pending.catch(() => {});
    const s2 = await sink(fctx);
    const [o] = await putAll(s2, [a], persistentResume(saved));
    expect(o!.ok).toBe(true);
    expect(fake.counts.rawUploads).toBe(1);
    expect(fake.items).toHaveLength(1);
  });

  it('more than 50 items: batches of at most 50, never two batchCreate calls at once', async () => {
    const s = await sink(factoryContext());
    const assets = Array.from({ length: 120 }, (_, i) => photo(`IMG_${String(i).padStart(4, '0')}.JPG`, 200 + i));
    const out = await putAll(s, assets);
    expect(out.filter((o) => o.ok)).toHaveLength(120);
    expect(Math.max(...fake.batchSizes)).toBeLessThanOrEqual(50);
    expect(fake.batchSizes.reduce((a, b) => a + b, 0)).toBe(120);
    expect(fake.batchSizes.length).toBeGreaterThanOrEqual(3);
    expect(fake.maxConcurrentBatches).toBe(1);
    expect(new Set(fake.items.map((i) => i.filename)).size).toBe(120);
  });

  it('a failed item in a batch fails only that asset; the rerun uploads it afresh', async () => {
    const s = await sink(factoryContext());
    fake.failFileNames.add('BAD.JPG');
    const resume = persistentResume();
    const assets = [photo('GOOD1.JPG', 100), photo('BAD.JPG', 100), photo('GOOD2.JPG', 100)];
    const out = await putAll(s, assets, resume);
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    const bad = out[1] as { e: KeepsakeError };
    expect(bad.e.code).toBe('GPHOTOS_ITEM_REJECTED');
    expect(bad.e.classification).toBe('permanent');
    expect(fake.batchSizes).toEqual([3]);
    fake.failFileNames.clear();
    const [retry] = await putAll(s, [assets[1]!], resume);
    expect(retry!.ok).toBe(true);
    expect(fake.counts.rawUploads).toBe(4);
    expect(fake.items.map((i) => i.filename).sort()).toEqual(['BAD.JPG', 'GOOD1.JPG', 'GOOD2.JPG']);
  });

  it('daily quota (429 RESOURCE_EXHAUSTED) stops cleanly; the next run continues without duplicates', async () => {
    const fctx = factoryContext();
    const resume = persistentResume();
    fake.quotaAfterUploads = 2;
    const assets = [photo('Q1.JPG', 100), photo('Q2.JPG', 100), photo('Q3.JPG', 100), photo('Q4.JPG', 100)];
    const s = await sink(fctx);
    const out = await putAll(s, assets, resume);
    const failed = out.filter((o): o is { ok: false; e: KeepsakeError } => !o.ok);
    expect(out.filter((o) => o.ok)).toHaveLength(2);
    expect(failed.map((f) => [f.e.code, f.e.classification])).toEqual([
      ['QUOTA_EXHAUSTED', 'fatal'],
      ['QUOTA_EXHAUSTED', 'fatal'],
    ]);
    fake.quotaAfterUploads = Number.POSITIVE_INFINITY;
    const s2 = await sink(fctx);
    const again = await putAll(s2, assets, resume);
    expect(again.every((o) => o.ok)).toBe(true);
    expect(fake.items.map((i) => i.filename).sort()).toEqual(['Q1.JPG', 'Q2.JPG', 'Q3.JPG', 'Q4.JPG']);
  });

  it('a 429 with Retry-After on an upload is waited out and the upload goes through (not a stopped run)', async () => {
    const s = await sink(factoryContext());
    fake.rateLimit = { paths: ['/v1/uploads'], times: 1, retryAfterSeconds: 1 };
    const started = Date.now();
    const [o] = await putAll(s, [photo('RL1.JPG', 100)]);
    expect(o!.ok ? 'ok' : o!.e.describe()).toBe('ok');
    expect(fake.rateLimited).toEqual(['/v1/uploads']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950); // Retry-After honoured
    expect(fake.items.map((i) => i.filename)).toEqual(['RL1.JPG']);
  });

  it('a 429 with Retry-After on batchCreate is waited out and the batch sent again: items created once', async () => {
    const s = await sink(factoryContext());
    fake.rateLimit = { paths: ['/v1/mediaItems:batchCreate'], times: 1, retryAfterSeconds: 1 };
    const out = await putAll(s, [photo('RL2.JPG', 100), photo('RL3.JPG', 100)]);
    expect(out.map((o) => (o.ok ? 'ok' : o.e.describe()))).toEqual(['ok', 'ok']);
    expect(fake.rateLimited).toEqual(['/v1/mediaItems:batchCreate']);
    expect(fake.items.map((i) => i.filename).sort()).toEqual(['RL2.JPG', 'RL3.JPG']);
    expect(fake.counts.rawUploads).toBe(2);
  });

  it('the UploadsPerMinute 400 is reported as QUOTA_EXHAUSTED, not as a bad file', async () => {
    const s = await sink(factoryContext());
    fake.uploadsPerMinuteOnce = true;
    const [o] = await putAll(s, [photo('UPM.JPG', 100)]);
    expect(!o!.ok && [o!.e.code, o!.e.classification]).toEqual(['QUOTA_EXHAUSTED', 'fatal']);
  });

  it('refreshes the access token when the service rejects it mid-run; a revoked login is AUTH_REQUIRED', async () => {
    const fctx = factoryContext();
    const s = await sink(fctx);
    await putAll(s, [photo('T1.JPG', 100)]);
    fake.expireAccessTokens();
    const [o] = await putAll(s, [photo('T2.JPG', 100)]);
    expect(o!.ok).toBe(true);
    expect(fake.counts.refreshes).toBe(2);

    const other = factoryContext();
    const { createTokenStore } = await import('@keepsake/transport-cloud');
    const { tokenKey } = await import('./options.js');
    await createTokenStore(other.secrets, tokenKey({ clientId: fake.clientId })).save({ accessToken: 'x', refreshToken: 'revoked', expiresAt: 0 });
    const s3 = await sink(other);
    const [denied] = await putAll(s3, [photo('T3.JPG', 100)]);
    expect(!denied!.ok && isKeepsakeError(denied!.e) && denied!.e.code).toBe('AUTH_REQUIRED');
  });

  it('checks Google size limits before sending a byte', async () => {
    const s = await sink(factoryContext());
    const huge = { ...memoryResource('BIG.JPG', new Uint8Array(1)), size: 201 * 1024 * 1024 };
    const [o] = await putAll(s, [{ id: 'BIG', kind: 'photo', resources: [huge] }]);
    expect(!o!.ok && o!.e.code).toBe('TOO_LARGE');
    expect(fake.counts.rawUploads + fake.counts.resumableStarts).toBe(0);
  });

  it('Live Photo without a Motion Photo transform: still and video become two items; AAE is skipped', async () => {
    const s = await sink(factoryContext());
    const live: Asset = {
      id: 'IMG_0010',
      kind: 'live',
      resources: [
        memoryResource('IMG_0010.HEIC', randomBytes(4000)),
        memoryResource('IMG_0010.MOV', randomBytes(50_000), 'motion'),
        memoryResource('IMG_0010.AAE', Buffer.from('<plist/>'), 'adjustments'),
      ],
    };
    const [o] = await putAll(s, [live]);
    expect(o!.ok && o!.r.items.map((i) => [i.name, i.verified, !!i.skipped])).toEqual([
      ['IMG_0010.HEIC', true, false],
      ['IMG_0010.MOV', true, false],
      ['IMG_0010.AAE', false, true],
    ]);
    expect(fake.items).toHaveLength(2);
    expect(fake.items.map((i) => i.mimeType).sort()).toEqual(['image/heic', 'video/quicktime']);
  });

  it('adds items to one app-created album per template value, reused across runs; description rendered', async () => {
    const fctx = factoryContext();
    const options = { album: 'iPhone {yyyy}-{MM}', description: 'From {album} via keepsake' };
    const a = { ...photo('A1.JPG', 100), album: 'Trip' };
    const b = { ...photo('A2.JPG', 100), capturedAt: { local: '2023-01-05T08:00:00', source: 'exif' as const } };
    const firstRun = await putAll(await sink(fctx, options), [a, b]);
    expect(firstRun.map((o) => (o.ok ? 'ok' : o.e.describe()))).toEqual(['ok', 'ok']);
    const [third] = await putAll(await sink(fctx, options), [{ ...photo('A3.JPG', 100) }]);
    expect(third!.ok ? 'ok' : third!.e.describe()).toBe('ok');
    expect(fake.albums.map((x) => x.title).sort()).toEqual(['iPhone 2023-01', 'iPhone 2024-06']);
    const byName = Object.fromEntries(fake.items.map((i) => [i.filename, i]));
    expect(byName['A1.JPG']!.albumId).toBe(byName['A3.JPG']!.albumId);
    expect(byName['A1.JPG']!.description).toBe('From Trip via keepsake');
    expect(byName['A2.JPG']!.albumId).not.toBe(byName['A1.JPG']!.albumId);
  });

  it('an album deleted in Google Photos is looked up again and recreated, not refused forever', async () => {
    const fctx = factoryContext();
    const options = { album: 'keepsake' };
    const [first] = await putAll(await sink(fctx, options), [photo('D1.JPG', 100)]);
    expect(first!.ok).toBe(true);
    fake.albums.splice(0); // the user deleted the album in Google Photos; the id is still remembered
    const s = await sink(fctx, options);
    const resume = persistentResume();
    const d2 = photo('D2.JPG', 100);
    const [refused] = await putAll(s, [d2], resume);
    // the attempt that met the stale id fails retryably; the pipeline's retry then succeeds
    expect(refused!.ok ? 'ok' : [refused!.e.code, refused!.e.classification]).toEqual(['GPHOTOS_ALBUM_REFUSED', 'retryable']);
    const [retried] = await putAll(s, [d2], resume);
    expect(retried!.ok ? 'ok' : retried!.e.describe()).toBe('ok');
    expect(fake.albums.map((a) => a.title)).toEqual(['keepsake']);
    expect(fake.items.find((i) => i.filename === 'D2.JPG')!.albumId).toBe(fake.albums[0]!.id);
    expect(fake.counts.rawUploads).toBe(2); // the upload token was kept for the retry
  });

  it('a batchCreate refused for another reason while naming a live album stays a permanent error; the album is kept', async () => {
    // Google answers 400 INVALID_ARGUMENT for a malformed request or a refused upload token too; only
    // the app's album list can say the album is to blame.
    const fctx = factoryContext();
    const options = { album: 'keepsake' };
    const [first] = await putAll(await sink(fctx, options), [photo('K1.JPG', 100)]);
    expect(first!.ok).toBe(true);
    const album = fake.albums[0]!.id;
    fake.batchCreateErrors.push({ status: 400, reason: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.' });
    const [refused] = await putAll(await sink(fctx, options), [photo('K2.JPG', 100)]);
    expect(refused!.ok ? 'ok' : [refused!.e.code, refused!.e.classification, refused!.e.hint ?? '']).toEqual(['HTTP_CLIENT_ERROR', 'permanent', expect.not.stringContaining('deleted')]);
    // the remembered id was not forgotten: the next run adds to the same album, creates none
    const [next] = await putAll(await sink(fctx, options), [photo('K3.JPG', 100)]);
    expect(next!.ok ? 'ok' : next!.e.describe()).toBe('ok');
    expect(fake.albums.map((a) => a.id)).toEqual([album]);
    expect(fake.items.find((i) => i.filename === 'K3.JPG')!.albumId).toBe(album);
  });

  it('takes the album-deleted path once per item: a second refusal is the permanent error, no album after album', async () => {
    const fctx = factoryContext();
    const options = { album: 'keepsake' };
    const [first] = await putAll(await sink(fctx, options), [photo('L1.JPG', 100)]);
    expect(first!.ok).toBe(true);
    // the listing does not see the albums (e.g. not yet consistent) and Google refuses to add to them
    fake.hideAlbumsFromList = true;
    const noPermission = { status: 400, reason: 'INVALID_ARGUMENT', message: 'No permission to add media items to this album.' };
    fake.batchCreateErrors.push(noPermission, noPermission, noPermission);
    const s = await sink(fctx, options);
    const resume = persistentResume();
    const l2 = photo('L2.JPG', 100);
    const [once] = await putAll(s, [l2], resume);
    expect(once!.ok ? 'ok' : once!.e.code).toBe('GPHOTOS_ALBUM_REFUSED');
    const [twice] = await putAll(s, [l2], resume);
    expect(twice!.ok ? 'ok' : [twice!.e.code, twice!.e.classification]).toEqual(['HTTP_CLIENT_ERROR', 'permanent']);
    // a later run does not start over either
    const [rerun] = await putAll(await sink(fctx, options), [l2], resume);
    expect(rerun!.ok ? 'ok' : [rerun!.e.code, rerun!.e.classification]).toEqual(['HTTP_CLIENT_ERROR', 'permanent']);
    expect(fake.albums).toHaveLength(2);
  });

  it('verify reports a deleted item as missing', async () => {
    const s = await sink(factoryContext());
    const [o] = await putAll(s, [photo('V1.JPG', 100)]);
    fake.items.splice(0);
    expect(await s.verify((o as { r: Receipt }).r.items[0]!, { signal: new AbortController().signal })).toMatchObject({ status: 'missing' });
  });
});

it('sha256 helper agrees with node:crypto', () => {
  expect(sha256(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
