import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Sink } from '@keepsake/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryResource, memoryResume, onedriveFixture, patternBytes, photoAsset, putContext } from '../test/helpers.js';
import { createOneDriveSink } from './onedrive-sink.js';
import { quickXorHash } from './quick-xor-hash.js';
import { registerQuickXorHash } from './register-hash.js';

registerQuickXorHash();
const KiB = 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let fx: Awaited<ReturnType<typeof onedriveFixture>>;
let sinks: Sink[] = [];
const newSink = async (extra = {}) => {
  const s = await createOneDriveSink({ ...fx.sinkOptions, ...extra }, fx.fctx);
  sinks.push(s);
  return s;
};
beforeEach(async () => {
  fx = await onedriveFixture();
  await fx.signIn();
});
afterEach(async () => {
  for (const s of sinks) await s.close?.();
  sinks = [];
  await fx.close();
});

describe('onedrive sink: uploads', () => {
  it('has a stable key from endpoint and drive, not from the path template', async () => {
    const a = await newSink();
    const b = await newSink({ path: 'Other/{yyyy}' });
    expect(a.key).toBe(`onedrive:${fx.fake.endpoint}:fake-drive-1`);
    expect(b.key).toBe(a.key);
    expect(a.capabilities).toMatchObject({ hashes: ['quickXorHash'], resumableUpload: true, offsite: true, canVerify: true, maxItemBytes: 250 * 1024 ** 3 });
  });

  it('uploads a small file with one PUT, sets the capture dates, verifies the QuickXorHash', async () => {
    const sink = await newSink();
    const bytes = patternBytes(1, 0, 100 * KiB);
    const ctx = putContext();
    const receipt = await sink.put(photoAsset([memoryResource('IMG_0001.HEIC', bytes)]), ctx);
    const f = fx.fake.file('Pictures/keepsake/2024/05/IMG_0001.HEIC')!;
    expect(f.sha256).toBe(sha(bytes));
    expect(f.fileSystemInfo.createdDateTime).toBe('2024-05-17T07:30:00.000Z');
    expect(f.fileSystemInfo.lastModifiedDateTime).toBe('2024-05-17T07:31:00.000Z');
    expect(receipt.items).toEqual([
      expect.objectContaining({
        location: 'Pictures/keepsake/2024/05/IMG_0001.HEIC',
        remoteId: f.id,
        size: bytes.length,
        verified: true,
        hashes: { sha256: sha(bytes), quickXorHash: quickXorHash(bytes) },
      }),
    ]);
    expect(ctx.progress).toBe(bytes.length);
  });

  it('uploads a large file in 320 KiB-multiple fragments, in order, without the token on the upload URL', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    const bytes = patternBytes(2, 0, 1000 * KiB + 123);
    const receipt = await sink.put(photoAsset([memoryResource('IMG_0002.MOV', bytes)]), putContext());
    const session = [...fx.fake.sessions.values()][0]!;
    expect(session.fragments).toEqual([
      [0, 327_680],
      [327_680, 327_680],
      [655_360, 327_680],
      [983_040, bytes.length - 983_040],
    ]);
    const uploads = fx.fake.log.filter((l) => l.path.startsWith('/upload/'));
    expect(uploads.length).toBe(4);
    expect(uploads.every((l) => !l.auth)).toBe(true);
    expect(fx.fake.file('Pictures/keepsake/2024/05/IMG_0002.MOV')!.sha256).toBe(sha(bytes));
    expect(session.fileSystemInfo).toEqual({ createdDateTime: '2024-05-17T07:30:00.000Z', lastModifiedDateTime: '2024-05-17T07:31:00.000Z' });
    expect(receipt.items[0]).toMatchObject({ verified: true, hashes: { quickXorHash: quickXorHash(bytes), sha256: sha(bytes) } });
  });

  it('keeps a Live Photo pair under one base name, also when renaming around a different remote file', async () => {
    const sink = await newSink();
    fx.fake.putFile('Pictures/keepsake/2024/05/IMG_0003.MOV', Buffer.from('someone else'));
    const heic = patternBytes(3, 0, 50 * KiB);
    const mov = patternBytes(4, 0, 80 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0003.HEIC', heic), memoryResource('IMG_0003.MOV', mov, { role: 'motion' })]), putContext());
    expect(r.items.map((i) => i.location)).toEqual(['Pictures/keepsake/2024/05/IMG_0003 (2).HEIC', 'Pictures/keepsake/2024/05/IMG_0003 (2).MOV']);
    expect(fx.fake.file('Pictures/keepsake/2024/05/IMG_0003.MOV')!.size).toBe(12);
  });

  it('counts a remote file with the same QuickXorHash as delivered (deduped, nothing uploaded)', async () => {
    const sink = await newSink();
    const bytes = patternBytes(5, 0, 40 * KiB);
    const existing = fx.fake.putFile('Pictures/keepsake/2024/05/IMG_0005.HEIC', bytes);
    const before = fx.fake.stats.uploadBytes;
    const r = await sink.put(photoAsset([memoryResource('IMG_0005.HEIC', bytes)]), putContext());
    expect(r.items[0]).toMatchObject({ deduped: true, verified: true, remoteId: existing.id, hashes: { sha256: sha(bytes) } });
    expect(fx.fake.stats.uploadBytes).toBe(before);
    expect(fx.fake.log.some((l) => l.method === 'PUT')).toBe(false);
  });

  it('conflict: fail reports a different remote file instead of renaming', async () => {
    const sink = await newSink({ conflict: 'fail' });
    fx.fake.putFile('Pictures/keepsake/2024/05/IMG_0006.HEIC', Buffer.from('other'));
    await expect(sink.put(photoAsset([memoryResource('IMG_0006.HEIC', patternBytes(6, 0, 1000))]), putContext())).rejects.toMatchObject({
      code: 'SINK_ALREADY_EXISTS',
      classification: 'permanent',
    });
  });

  it('conflict: replace overwrites a different remote file in place', async () => {
    const sink = await newSink({ conflict: 'replace' });
    const before = fx.fake.putFile('Pictures/keepsake/2024/05/IMG_0016.HEIC', Buffer.from('old content'));
    const bytes = patternBytes(16, 0, 30 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0016.HEIC', bytes)]), putContext());
    expect(r.items[0]).toMatchObject({ location: 'Pictures/keepsake/2024/05/IMG_0016.HEIC', remoteId: before.id, verified: true });
    expect(fx.fake.file('Pictures/keepsake/2024/05/IMG_0016.HEIC')!.sha256).toBe(sha(bytes));
    expect(fx.fake.files()).toHaveLength(1);
  });

  it('sanitises names with : * ? and trailing dots/spaces', async () => {
    const sink = await newSink({ path: 'Pictures/{album}' });
    const asset = { ...photoAsset([memoryResource('a:b*c?.jpg', Buffer.from('x')), memoryResource('clip . ', Buffer.from('y'), { role: 'edited' })]), album: 'Trip: Rome? ' };
    const r = await sink.put(asset, putContext());
    expect(r.items.map((i) => i.location)).toEqual(['Pictures/Trip_ Rome_/a_b_c_.jpg', 'Pictures/Trip_ Rome_/clip']);
    expect(fx.fake.files().map((f) => f.path).sort()).toEqual(['Pictures/Trip_ Rome_/a_b_c_.jpg', 'Pictures/Trip_ Rome_/clip']);
  });

  it('uploads a 0-byte file with a simple PUT', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    const r = await sink.put(photoAsset([memoryResource('empty.AAE', Buffer.alloc(0))]), putContext());
    expect(r.items[0]).toMatchObject({ size: 0, verified: true, hashes: { quickXorHash: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' } });
    expect(fx.fake.log.filter((l) => l.path.endsWith('/content')).length).toBe(1);
    expect(fx.fake.sessions.size).toBe(0);
  });

  it('rejects a file over 250 GB up front, before any request', async () => {
    const sink = await newSink();
    const before = fx.fake.log.length;
    const huge = memoryResource('huge.MOV', Buffer.alloc(10), { size: 251 * 1024 ** 3 });
    const err = await sink.put(photoAsset([huge]), putContext()).catch((e) => e);
    expect(err).toMatchObject({ code: 'TOO_LARGE', classification: 'permanent' });
    expect(err.message).toContain('at most 268435456000');
    expect(fx.fake.log.length).toBe(before);
  });

  it('a hash mismatch is not verified: retryable error, and the damaged upload is removed', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    fx.fake.corruptNextHashes(1);
    const bytes = patternBytes(7, 0, 400 * KiB);
    const err = await sink.put(photoAsset([memoryResource('IMG_0007.HEIC', bytes)]), putContext()).catch((e) => e);
    expect(err).toMatchObject({ code: 'VERIFY_MISMATCH', classification: 'retryable' });
    expect(fx.fake.files()).toEqual([]);
    // The pipeline's retry then succeeds under the same name.
    const r = await sink.put(photoAsset([memoryResource('IMG_0007.HEIC', bytes)]), putContext());
    expect(r.items[0]!.location).toBe('Pictures/keepsake/2024/05/IMG_0007.HEIC');
  });
});

describe('onedrive sink: failures and recovery', () => {
  it('resumes after the process died mid-upload: continues from the server offset, not zero', async () => {
    const bytes = patternBytes(8, 0, 2000 * KiB);
    const resume = memoryResume();
    const first = await newSink({ simpleUploadMaxBytes: 0 });
    // The first process "dies" after ~3 fragments: its source stops (device unplugged).
    const dying = memoryResource('IMG_0008.MOV', bytes);
    const open = dying.open;
    dying.open = (o) =>
      (async function* () {
        for await (const c of open(o)) {
          yield c;
          if ((o?.offset ?? 0) === 0 && c.byteOffset + c.byteLength >= 1_000_000) throw Object.assign(new Error('process killed'), { code: 'EKILLED' });
        }
      })();
    await expect(first.put(photoAsset([dying]), putContext(resume))).rejects.toThrow('process killed');
    const session = [...fx.fake.sessions.values()][0]!;
    expect(session.offset).toBe(983_040);
    expect(resume.data.size).toBe(1);

    const second = await newSink({ simpleUploadMaxBytes: 0 });
    const r = await second.put(photoAsset([memoryResource('IMG_0008.MOV', bytes)]), putContext(resume));
    expect(fx.fake.sessions.size).toBe(1);
    expect(session.fragments.map(([start]) => start)).toEqual([0, 327_680, 655_360, 983_040, 1_310_720, 1_638_400, 1_966_080]);
    expect(fx.fake.stats.uploadBytes).toBe(bytes.length);
    expect(r.items[0]).toMatchObject({ verified: true, hashes: { sha256: sha(bytes), quickXorHash: quickXorHash(bytes) } });
    expect(resume.data.size).toBe(0);
  });

  it('starts a new session when the old one expired mid-upload', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    const bytes = patternBytes(9, 0, 1500 * KiB);
    let expired = false;
    const res = memoryResource('IMG_0009.MOV', bytes, {
      onChunk: (at) => {
        if (!expired && at >= 700 * KiB) {
          expired = true;
          fx.fake.expireSessions();
        }
      },
    });
    const r = await sink.put(photoAsset([res]), putContext());
    expect(fx.fake.sessions.size).toBe(2);
    expect(r.items[0]).toMatchObject({ verified: true, hashes: { sha256: sha(bytes) } });
    expect(fx.fake.file('Pictures/keepsake/2024/05/IMG_0009.MOV')!.sha256).toBe(sha(bytes));
  });

  it('recovers from a 416 by asking the session where to continue', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    fx.fake.fault({ match: 'upload', status: 416, body: { error: { code: 'invalidRange' } } });
    const bytes = patternBytes(10, 0, 700 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0010.MOV', bytes)]), putContext());
    expect(fx.fake.log.filter((l) => l.path.startsWith('/upload/')).map((l) => `${l.method} ${l.status}`)).toEqual(['PUT 416', 'GET 200', 'PUT 202', 'PUT 202', 'PUT 201']);
    expect(r.items[0]!.verified).toBe(true);
  });

  it('does not resend a fragment whose answer was lost', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    fx.fake.fault({ match: (req) => req.url!.startsWith('/upload/') && String(req.headers['content-range']).startsWith('bytes 327680-'), acceptThenDrop: true });
    const bytes = patternBytes(11, 0, 900 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0011.MOV', bytes)]), putContext());
    expect(fx.fake.stats.uploadBytes).toBe(bytes.length);
    expect(r.items[0]!.verified).toBe(true);
  });

  it('does not upload a second copy when the answer to the last fragment was lost after the file was committed', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    // The final fragment completes the session (the file exists, the session URL is gone), but the
    // 201 never arrives: asking the session then answers 404.
    fx.fake.fault({ match: (req) => req.url!.startsWith('/upload/') && String(req.headers['content-range']).startsWith('bytes 655360-'), acceptThenDrop: true });
    const bytes = patternBytes(17, 0, 700 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0017.MOV', bytes)]), putContext());
    expect(fx.fake.files().map((f) => f.path)).toEqual(['Pictures/keepsake/2024/05/IMG_0017.MOV']);
    expect(fx.fake.sessions.size).toBe(1);
    expect(fx.fake.stats.uploadBytes).toBe(bytes.length);
    expect(r.items[0]).toMatchObject({ location: 'Pictures/keepsake/2024/05/IMG_0017.MOV', verified: true, hashes: { sha256: sha(bytes) } });
  });

  it('starts over when the session vanished after the last fragment without committing the file', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    // Lost answer to the last fragment, and no file at the path: the session expired, not committed.
    const lastThenExpire = (req: IncomingMessage) => {
      const last = req.url!.startsWith('/upload/') && String(req.headers['content-range']).startsWith('bytes 655360-');
      if (last) fx.fake.expireSessions();
      return last;
    };
    fx.fake.fault({ match: lastThenExpire, reset: true });
    const bytes = patternBytes(18, 0, 700 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0018.MOV', bytes)]), putContext());
    expect(fx.fake.sessions.size).toBe(2);
    expect(fx.fake.files().map((f) => f.path)).toEqual(['Pictures/keepsake/2024/05/IMG_0018.MOV']);
    expect(r.items[0]).toMatchObject({ verified: true, hashes: { sha256: sha(bytes) } });
  });

  it('on a business drive, a new attempt right after a crash that followed the last fragment finds the file (hash not there yet) instead of renaming', async () => {
    // Business drives add the QuickXorHash a moment after the upload: the first read has none.
    fx.fake.delayHashes(1);
    const bytes = patternBytes(19, 0, 700 * KiB);
    const resume = memoryResume();
    const first = await newSink({ simpleUploadMaxBytes: 0 });
    const dying = memoryResource('IMG_0019.MOV', bytes);
    const open = dying.open;
    dying.open = (o) =>
      (async function* () {
        for await (const c of open(o)) yield c;
        throw Object.assign(new Error('process killed'), { code: 'EKILLED' });
      })();
    await expect(first.put(photoAsset([dying]), putContext(resume))).rejects.toThrow('process killed');
    expect(fx.fake.files().map((f) => f.path)).toEqual(['Pictures/keepsake/2024/05/IMG_0019.MOV']);

    const second = await newSink({ simpleUploadMaxBytes: 0 });
    const r = await second.put(photoAsset([memoryResource('IMG_0019.MOV', bytes)]), putContext(resume));
    expect(fx.fake.files().map((f) => f.path)).toEqual(['Pictures/keepsake/2024/05/IMG_0019.MOV']);
    expect(fx.fake.sessions.size).toBe(1);
    expect(r.items[0]).toMatchObject({ location: 'Pictures/keepsake/2024/05/IMG_0019.MOV', verified: true, hashes: { sha256: sha(bytes), quickXorHash: quickXorHash(bytes) } });
  });

  it('waits out 429 Retry-After on API calls and fragments', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    fx.fake.fault({ match: 'api', status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'activityLimitReached' } } });
    fx.fake.fault({ match: 'upload', status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'activityLimitReached' } } });
    const started = performance.now();
    const bytes = patternBytes(12, 0, 500 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0012.MOV', bytes)]), putContext());
    expect(performance.now() - started).toBeGreaterThanOrEqual(1950);
    expect(fx.fake.pendingFaults()).toBe(0);
    expect(r.items[0]!.verified).toBe(true);
  });

  it('rides out a burst of 503s', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    fx.fake.fault({ match: 'upload', status: 503, times: 3, body: { error: { code: 'serviceNotAvailable' } } });
    fx.fake.fault({ match: 'api', status: 503, times: 2, body: { error: { code: 'serviceNotAvailable' } } });
    const bytes = patternBytes(13, 0, 700 * KiB);
    const r = await sink.put(photoAsset([memoryResource('IMG_0013.MOV', bytes)]), putContext());
    expect(fx.fake.pendingFaults()).toBe(0);
    expect(r.items[0]!.verified).toBe(true);
    expect(fx.fake.stats.uploadBytes).toBe(bytes.length);
  });

  it('refreshes the access token mid-run and stores the rotated refresh token', async () => {
    const sink = await newSink();
    await sink.put(photoAsset([memoryResource('A.HEIC', Buffer.from('a'))], 'a'), putContext());
    const before = await fx.store.load();
    fx.fake.expireAccessTokens();
    await sink.put(photoAsset([memoryResource('B.HEIC', Buffer.from('b'))], 'b'), putContext());
    expect(fx.fake.stats.refreshes).toBe(1);
    const after = await fx.store.load();
    expect(after!.refreshToken).not.toBe(before!.refreshToken);
    expect(fx.fake.files().map((f) => f.name).sort()).toEqual(['A.HEIC', 'B.HEIC']);
  });

  it('a revoked login stops with "Run: keepsake login onedrive"', async () => {
    const sink = await newSink();
    fx.fake.revokeAll();
    const err = await sink.put(photoAsset([memoryResource('C.HEIC', Buffer.from('c'))]), putContext()).catch((e) => e);
    expect(err).toMatchObject({ code: 'AUTH_REQUIRED', classification: 'fatal', hint: 'Run: keepsake login onedrive' });
  });

  it('without a stored login, creating the sink says how to log in', async () => {
    await fx.store.clear();
    await expect(createOneDriveSink(fx.sinkOptions, fx.fctx)).rejects.toMatchObject({ code: 'AUTH_REQUIRED', hint: 'Run: keepsake login onedrive' });
  });

  it('cancels the upload session on abort', async () => {
    const sink = await newSink({ simpleUploadMaxBytes: 0 });
    const ac = new AbortController();
    const resume = memoryResume();
    const bytes = patternBytes(14, 0, 1500 * KiB);
    const res = memoryResource('IMG_0014.MOV', bytes, { onChunk: (at) => at >= 600 * KiB && ac.abort() });
    await expect(sink.put(photoAsset([res]), putContext(resume, ac.signal))).rejects.toMatchObject({ code: 'ABORTED' });
    const session = [...fx.fake.sessions.values()][0]!;
    expect(session.gone).toBe(true);
    expect(fx.fake.log.some((l) => l.method === 'DELETE' && l.path.startsWith('/upload/'))).toBe(true);
    expect(resume.data.size).toBe(0);
    expect(fx.fake.files()).toEqual([]);
  });
});

describe('onedrive sink: verify', () => {
  it('reports ok, corrupt and missing from the item QuickXorHash', async () => {
    const sink = await newSink();
    const bytes = patternBytes(15, 0, 10 * KiB);
    const [item] = (await sink.put(photoAsset([memoryResource('V.HEIC', bytes)]), putContext())).items;
    const ctx = { signal: new AbortController().signal, logger: putContext().logger };
    expect(await sink.verify!(item!, ctx)).toMatchObject({ status: 'ok' });
    fx.fake.file('Pictures/keepsake/2024/05/V.HEIC')!.quickXorHash = quickXorHash(Buffer.from('changed'));
    expect(await sink.verify!(item!, ctx)).toMatchObject({ status: 'corrupt' });
    fx.fake.items.clear();
    expect(await sink.verify!(item!, ctx)).toMatchObject({ status: 'missing' });
  });
});
