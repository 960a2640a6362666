import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { KeepsakeError, type ResumeStore } from '@keepsake/core';
import { createHttpClient, type HttpClient, resumableUpload } from '@keepsake/transport-cloud';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryResource, memoryResume, onedriveFixture, patternBytes } from '../test/helpers.js';
import { graphUploadProtocol } from './upload-session.js';
import { registerQuickXorHash } from './register-hash.js';

registerQuickXorHash();
const KiB = 1024;
const PATH = 'Pictures/IMG_0020.MOV';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let fx: Awaited<ReturnType<typeof onedriveFixture>>;
let graph: HttpClient;
let upload: HttpClient;
beforeEach(async () => {
  fx = await onedriveFixture();
  const token = fx.fake.issueTokens().access_token;
  const auth = { getAccessToken: async () => token, invalidate() {} };
  graph = createHttpClient({ service: 'OneDrive', sink: 'onedrive', auth, attempts: 2, backoffBaseMs: 1 });
  upload = createHttpClient({ service: 'OneDrive', sink: 'onedrive', attempts: 2, backoffBaseMs: 1 });
});
afterEach(async () => {
  await Promise.all([graph.close(), upload.close()]);
  await fx.close();
});

/** One attempt to upload `bytes` to PATH with conflict: rename, as the sink does it. */
const attempt = (bytes: Buffer, resume: ResumeStore, o: { open?: ReturnType<typeof memoryResource>['open']; maxRecoveries?: number; hashWaitsMs?: number[] } = {}) =>
  resumableUpload({
    protocol: graphUploadProtocol({
      graph,
      upload,
      itemUrl: `${fx.fake.endpoint}/me/drive/root:/${PATH}:`,
      conflict: 'rename',
      fragmentTimeoutMs: 10_000,
      hashWaitsMs: o.hashWaitsMs ?? [1, 1, 1],
    }),
    open: o.open ?? memoryResource('IMG_0020.MOV', bytes).open,
    size: bytes.length,
    fragmentSize: 327_680,
    resume,
    resumeKey: 'src/IMG_0020.MOV',
    fingerprint: sha(bytes),
    hashes: ['sha256', 'quickXorHash'],
    signal: new AbortController().signal,
    backoffBaseMs: 1,
    maxRecoveries: o.maxRecoveries ?? 2,
  });

/** A source whose process "dies" once it has handed over the last byte (the last fragment is then on the wire). */
const dyingAfterLastByte = (bytes: Buffer) => {
  const { open } = memoryResource('IMG_0020.MOV', bytes);
  return ((o) =>
    (async function* () {
      for await (const c of open(o)) yield c;
      throw Object.assign(new Error('process killed'), { code: 'EKILLED' });
    })()) as typeof open;
};

/** The answer to the completing PUT is lost, then the next `times` Graph API calls answer 503. */
const loseLastAnswerThen503 = (times: number) => {
  let lost = false;
  const last = (req: IncomingMessage) => req.url!.startsWith('/upload/') && String(req.headers['content-range']).startsWith('bytes 655360-');
  fx.fake.fault({
    match: (req) => {
      if (last(req)) lost = true;
      return lost;
    },
    acceptThenDrop: true,
  });
  fx.fake.fault({ match: (req) => lost && req.url!.startsWith('/v1.0/'), times, status: 503, body: { error: { code: 'serviceNotAvailable' } } });
};

describe('graph upload sessions: the session is gone after its last fragment', () => {
  it('a new attempt after a crash right after the last fragment finds the committed file instead of uploading a second copy', async () => {
    const bytes = patternBytes(20, 0, 700 * KiB);
    const resume = memoryResume();
    await expect(attempt(bytes, resume, { open: dyingAfterLastByte(bytes) })).rejects.toThrow('process killed');
    // The last fragment completed the session: the file exists, the saved session URL answers 404.
    expect(fx.fake.files().map((f) => f.path)).toEqual([PATH]);
    expect(resume.data.size).toBe(1);

    const r = await attempt(bytes, resume);
    expect(fx.fake.files().map((f) => f.path)).toEqual([PATH]);
    expect(fx.fake.sessions.size).toBe(1);
    expect(fx.fake.stats.uploadBytes).toBe(bytes.length);
    expect(r.result.id).toBe(fx.fake.file(PATH)!.id);
    expect(r.hashes.sha256).toBe(sha(bytes));
    expect(r.sessionsStarted).toBe(0);
    expect(resume.data.size).toBe(0);
  });

  it('a failed lookup of the target path is retried, and an attempt that gives up leaves the next one to find the file', async () => {
    const bytes = patternBytes(21, 0, 700 * KiB);
    const resume = memoryResume();
    // The completing PUT's answer is lost, then Graph answers 503 to the path lookup for a while.
    loseLastAnswerThen503(3);
    const r1 = await attempt(bytes, resume, { maxRecoveries: 4 });
    expect(fx.fake.pendingFaults()).toBe(0);
    expect(r1.result.id).toBe(fx.fake.file(PATH)!.id);

    // Lost again, and this time the lookups fail longer than this attempt is willing to wait.
    fx.fake.items.clear();
    loseLastAnswerThen503(6);
    const err = await attempt(bytes, resume, { maxRecoveries: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(KeepsakeError);
    expect(err).toMatchObject({ classification: 'retryable' });
    expect(fx.fake.files().map((f) => f.path)).toEqual([PATH]);

    const r3 = await attempt(bytes, resume);
    expect(fx.fake.files().map((f) => f.path)).toEqual([PATH]);
    expect(fx.fake.sessions.size).toBe(2);
    expect(r3.result.id).toBe(fx.fake.file(PATH)!.id);
    expect(resume.data.size).toBe(0);
  });

  it('on a business drive, waits for the QuickXorHash of the committed file instead of uploading it again', async () => {
    fx.fake.delayHashes(1);
    const bytes = patternBytes(22, 0, 700 * KiB);
    fx.fake.fault({ match: (req) => req.url!.startsWith('/upload/') && String(req.headers['content-range']).startsWith('bytes 655360-'), acceptThenDrop: true });
    const r = await attempt(bytes, memoryResume());
    expect(fx.fake.files().map((f) => f.path)).toEqual([PATH]);
    expect(fx.fake.sessions.size).toBe(1);
    expect(r.result.file?.hashes?.quickXorHash).toBe(fx.fake.file(PATH)!.quickXorHash);
    expect(fx.fake.log.filter((l) => l.method === 'GET' && l.path.endsWith(`${PATH}:`)).length).toBe(2);
  });

  it('on a business drive, a crash after the last fragment and a new attempt right away: one file', async () => {
    fx.fake.delayHashes(2);
    const bytes = patternBytes(23, 0, 700 * KiB);
    const resume = memoryResume();
    await expect(attempt(bytes, resume, { open: dyingAfterLastByte(bytes) })).rejects.toThrow('process killed');
    const r = await attempt(bytes, resume);
    expect(fx.fake.files().map((f) => f.path)).toEqual([PATH]);
    expect(fx.fake.sessions.size).toBe(1);
    expect(r.result.id).toBe(fx.fake.file(PATH)!.id);
  });

  it('a different file at the path is not taken for the upload: a new session stores this one beside it', async () => {
    const bytes = patternBytes(24, 0, 700 * KiB);
    const resume = memoryResume();
    await expect(attempt(bytes, resume, { open: dyingAfterLastByte(bytes) })).rejects.toThrow('process killed');
    // Someone replaced the file meanwhile with other bytes of the same size.
    const other = patternBytes(99, 0, bytes.length);
    fx.fake.putFile(PATH, other);
    const r = await attempt(bytes, resume);
    expect(fx.fake.sessions.size).toBe(2);
    expect(fx.fake.files().map((f) => f.path).sort()).toEqual(['Pictures/IMG_0020 1.MOV', PATH]);
    expect(fx.fake.file(PATH)!.sha256).toBe(sha(other));
    expect(r.result.name).toBe('IMG_0020 1.MOV');
    expect(fx.fake.file('Pictures/IMG_0020 1.MOV')!.sha256).toBe(sha(bytes));
  });

  it('a file whose hash never shows up is not accepted (bounded wait, then a new session)', async () => {
    fx.fake.delayHashes(100);
    const bytes = patternBytes(25, 0, 700 * KiB);
    const resume = memoryResume();
    await expect(attempt(bytes, resume, { open: dyingAfterLastByte(bytes) })).rejects.toThrow('process killed');
    const r = await attempt(bytes, resume, { hashWaitsMs: [1, 1] });
    expect(fx.fake.sessions.size).toBe(2);
    expect(r.result.name).toBe('IMG_0020 1.MOV');
    // The first read plus one per wait.
    expect(fx.fake.log.filter((l) => l.method === 'GET' && l.path.endsWith(`${PATH}:`)).length).toBe(3);
  });
});
