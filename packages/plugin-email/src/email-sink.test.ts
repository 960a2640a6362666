import { randomBytes } from 'node:crypto';
import { type Asset, isKeepsakeError, type KeepsakeError, silentLogger } from '@keepsake/core';
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmailSink } from './email-sink.js';
import { SentLog } from './sent-log.js';
import { EMAIL_DEFAULTS, type EmailOptions } from './options.js';
import { memoryResource, photoAsset, putContext, sha256, startCuttingProxy, startTestSmtp, type TestSmtp } from './test-support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function smtp(opts: Parameters<typeof startTestSmtp>[0]): Promise<TestSmtp> {
  const s = await startTestSmtp(opts);
  cleanups.push(() => s.close());
  return s;
}

function sinkFor(port: number, extra: Partial<EmailOptions> = {}, password = 's3cret'): EmailSink {
  const options: EmailOptions = {
    ...EMAIL_DEFAULTS,
    host: '127.0.0.1',
    port,
    requireTLS: false,
    user: 'alice',
    from: 'alice@example.com',
    to: 'bob@example.com',
    timeoutSeconds: 10,
    ...extra,
  };
  const sink = new EmailSink({ options, password, logger: silentLogger });
  cleanups.push(async () => {
    await sink.close().catch(() => {});
  });
  return sink;
}

/** Puts every asset, flushes once the sink has them all, and returns each put's outcome. */
async function putAll(sink: EmailSink, assets: Asset[]) {
  const results = assets.map((a) => sink.put(a, putContext()).then((r) => ({ ok: true as const, r }), (e: KeepsakeError) => ({ ok: false as const, e })));
  await new Promise((r) => setTimeout(r, 20));
  await sink.flush();
  return Promise.all(results);
}

describe('EmailSink against a local SMTP server (SIZE + AUTH)', () => {
  it('delivers attachments byte-identical, counted only after the 250', async () => {
    const server = await smtp({ size: 5_000_000 });
    const sink = sinkFor(server.port);
    const still = randomBytes(150_000);
    const motion = randomBytes(220_001);
    const live: Asset = {
      id: 'IMG_0001',
      kind: 'live',
      capturedAt: { local: '2024-06-01T10:20:30', source: 'exif' },
      resources: [memoryResource('IMG_0001.HEIC', still), memoryResource('IMG_0001.MOV', motion, 'motion')],
    };
    const results = await putAll(sink, [live]);
    expect(results[0]!.ok).toBe(true);
    expect(server.messages).toHaveLength(1);
    const msg = server.messages[0]!.parsed;
    expect(msg.subject).toBe('keepsake: 2024-06-01 IMG_0001');
    const byName = new Map(msg.attachments.map((a) => [a.filename, a.content]));
    // Live Photo parts travel together, and decode to the exact bytes
    expect(sha256(byName.get('IMG_0001.HEIC')!)).toBe(sha256(still));
    expect(sha256(byName.get('IMG_0001.MOV')!)).toBe(sha256(motion));
    const receipt = results[0]!.ok ? results[0]!.r : undefined;
    expect(receipt!.items.map((i) => [i.name, i.size, i.hashes.sha256, i.verified])).toEqual([
      ['IMG_0001.HEIC', still.byteLength, sha256(still), false],
      ['IMG_0001.MOV', motion.byteLength, sha256(motion), false],
    ]);
    expect(receipt!.items[0]!.remoteId).toBe(msg.messageId);
    expect(msg.text).toContain(`IMG_0001.MOV  220001 bytes  sha256 ${sha256(motion)}`);
  });

  it('packs into several messages, each under the advertised SIZE', async () => {
    const server = await smtp({ size: 400_000 });
    const sink = sinkFor(server.port);
    const assets = Array.from({ length: 7 }, (_, i) => photoAsset(`IMG_${1000 + i}`, 90_000 + i * 1000));
    const results = await putAll(sink, assets);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.refusedSizes).toEqual([]);
    expect(server.messages.length).toBeGreaterThan(1);
    for (const m of server.messages) expect(m.raw.byteLength).toBeLessThanOrEqual(400_000);
    const arrived = server.messages.flatMap((m) => m.parsed.attachments.map((a) => sha256(a.content))).sort();
    expect(arrived).toEqual(assets.map((a) => a.resources[0]!.sha256).sort());
  });

  it('rejects an asset too large for any message without sending it', async () => {
    const server = await smtp({ size: 300_000 });
    const sink = sinkFor(server.port);
    const [big, small] = await putAll(sink, [photoAsset('BIG', 260_000), photoAsset('SMALL', 10_000)]);
    expect(big!.ok).toBe(false);
    expect(!big!.ok && big!.e.code).toBe('TOO_LARGE');
    expect(!big!.ok && big!.e.classification).toBe('permanent');
    expect(small!.ok).toBe(true);
    expect(server.messages.flatMap((m) => m.parsed.attachments.map((a) => a.filename))).toEqual(['SMALL.JPG']);
  });

  it('handles 552 from a server that hides its limit: splits the batch, reports the single oversize asset', async () => {
    const server = await smtp({ size: 300_000, hideSize: true });
    const sink = sinkFor(server.port);
    const assets = [photoAsset('A', 100_000), photoAsset('B', 100_000), photoAsset('C', 100_000), photoAsset('HUGE', 250_000)];
    const results = await putAll(sink, assets);
    const byId = Object.fromEntries(results.map((r, i) => [assets[i]!.id, r]));
    expect(byId.A!.ok && byId.B!.ok && byId.C!.ok).toBe(true);
    expect(byId.HUGE!.ok).toBe(false);
    expect(!byId.HUGE!.ok && byId.HUGE!.e.code).toBe('TOO_LARGE');
    expect(server.refusedSizes.length).toBeGreaterThan(0);
    const names = server.messages.flatMap((m) => m.parsed.attachments.map((a) => a.filename)).sort();
    expect(names).toEqual(['A.JPG', 'B.JPG', 'C.JPG']);
  });

  it('maps bad credentials (535) to AUTH_REQUIRED and counts nothing', async () => {
    const server = await smtp({ size: 1_000_000 });
    const sink = sinkFor(server.port, {}, 'wrong');
    const [r] = await putAll(sink, [photoAsset('IMG_1', 1000)]);
    expect(r!.ok).toBe(false);
    expect(!r!.ok && r!.e.code).toBe('AUTH_REQUIRED');
    expect(!r!.ok && r!.e.classification).toBe('fatal');
    expect(server.messages).toHaveLength(0);
  });

  it('a connection dropped mid-DATA fails the message retryably; a rerun delivers it', async () => {
    const server = await smtp({ size: 5_000_000 });
    const proxy = await startCuttingProxy(server.port, 60_000);
    cleanups.push(() => proxy.close());
    const asset = photoAsset('IMG_CUT', 200_000);
    const [r] = await putAll(sinkFor(proxy.port), [asset]);
    expect(r!.ok).toBe(false);
    expect(!r!.ok && isKeepsakeError(r!.e) && r!.e.classification).toBe('retryable');
    expect(server.messages).toHaveLength(0);
    const [again] = await putAll(sinkFor(server.port), [asset]);
    expect(again!.ok).toBe(true);
    expect(sha256(server.messages[0]!.parsed.attachments[0]!.content)).toBe(asset.resources[0]!.sha256);
  });

  it('a failed message fails only its own assets', async () => {
    const server = await smtp({ size: 5_000_000 });
    const sink = sinkFor(server.port, { maxMessageBytes: 200_000 });
    const good = photoAsset('GOOD', 50_000);
    const broken: Asset = {
      id: 'BROKEN',
      kind: 'photo',
      resources: [
        {
          ...memoryResource('BROKEN.JPG', randomBytes(50_000)),
          open: () =>
            (async function* () {
              yield new Uint8Array(1000);
              throw new Error('device unplugged');
            })(),
        },
      ],
    };
    // GOOD fills the first message; BROKEN goes in the second
    const filler = photoAsset('FILLER', 60_000);
    const results = await putAll(sink, [good, filler, broken]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(server.messages.flatMap((m) => m.parsed.attachments.map((a) => a.filename)).sort()).toEqual(['FILLER.JPG', 'GOOD.JPG']);
  });

  it('a later run does not mail what already got a 250 (sent log), but does send changed bytes', async () => {
    const server = await smtp({ size: 5_000_000 });
    const log = new SentLog(mkdtempSync(join(tmpdir(), 'ks-email-log-')), 'email:bob@example.com');
    const withLog = () => {
      const s = new EmailSink({ options: { ...EMAIL_DEFAULTS, host: '127.0.0.1', port: server.port, requireTLS: false, user: 'alice', from: 'alice@example.com', to: 'bob@example.com', timeoutSeconds: 10 }, password: 's3cret', logger: silentLogger, sentLog: log });
      cleanups.push(() => s.close());
      return s;
    };
    const a = photoAsset('IMG_L1', 5000);
    const [first] = await putAll(withLog(), [a]);
    expect(first!.ok).toBe(true);
    const [again] = await putAll(withLog(), [a]);
    expect(again!.ok && again!.r.items[0]).toMatchObject({ deduped: true, remoteId: server.messages[0]!.parsed.messageId });
    expect(server.messages).toHaveLength(1);
    const changed = { ...a, resources: [memoryResource('IMG_L1.JPG', randomBytes(5000))] };
    await putAll(withLog(), [changed]);
    expect(server.messages).toHaveLength(2);
  });

  it('one of several recipients refused (550): not counted as delivered, EMAIL_RECIPIENT_REFUSED, nothing logged as sent', async () => {
    const server = await smtp({ size: 5_000_000, rcpt: (a) => (a === 'gone@example.com' ? 550 : undefined) });
    const log = new SentLog(mkdtempSync(join(tmpdir(), 'ks-email-log-')), 'email:bob@example.com,gone@example.com');
    const options = { ...EMAIL_DEFAULTS, host: '127.0.0.1', port: server.port, requireTLS: false, user: 'alice', from: 'alice@example.com', to: 'bob@example.com, gone@example.com', timeoutSeconds: 10 };
    const sink = new EmailSink({ options, password: 's3cret', logger: silentLogger, sentLog: log });
    cleanups.push(() => sink.close());
    const a = photoAsset('IMG_R1', 5000);
    const [r] = await putAll(sink, [a]);
    expect(r!.ok ? 'delivered' : [r!.e.code, r!.e.classification]).toEqual(['EMAIL_RECIPIENT_REFUSED', 'fatal']);
    expect(!r!.ok && r!.e.message).toContain('gone@example.com');
    expect(await log.lookup(a.resources)).toBeUndefined();
  });

  it('one of several recipients deferred (450): retryable, not counted as delivered', async () => {
    const server = await smtp({ size: 5_000_000, rcpt: (a) => (a === 'busy@example.com' ? 450 : undefined) });
    const sink = sinkFor(server.port, { to: 'bob@example.com, busy@example.com' });
    const [r] = await putAll(sink, [photoAsset('IMG_R2', 5000)]);
    expect(r!.ok ? 'delivered' : r!.e.classification).toBe('retryable');
  });

  it('552 to RCPT (mailbox full / too many recipients) is not a message-size refusal: no split, no TOO_LARGE, limit not lowered', async () => {
    let full = true;
    const server = await smtp({ size: 5_000_000, rcpt: () => (full ? 552 : undefined) });
    const sink = sinkFor(server.port);
    const out = await putAll(sink, [photoAsset('M1', 50_000), photoAsset('M2', 50_000)]);
    expect(out.map((r) => (r.ok ? 'delivered' : [r.e.code, r.e.classification]))).toEqual([
      ['SINK_WRITE_FAILED', 'retryable'],
      ['SINK_WRITE_FAILED', 'retryable'],
    ]);
    full = false;
    const again = await putAll(sink, [photoAsset('M3', 50_000), photoAsset('M4', 50_000)]);
    expect(again.map((r) => (r.ok ? 'ok' : r.e.describe()))).toEqual(['ok', 'ok']);
    expect(server.messages).toHaveLength(1); // both in one message: the limit was not "learnt" from the 552
  });

  it('settles a queued put as ABORTED when its signal aborts before the message is sent', async () => {
    const server = await smtp({ size: 5_000_000 });
    const sink = sinkFor(server.port);
    const ac = new AbortController();
    const p = sink.put(photoAsset('IMG_A', 1000), putContext(ac.signal));
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    await sink.flush();
    expect(server.messages).toHaveLength(0);
  });
});

describe('EmailSink TLS settings', () => {
  it('requireTLS (the default) refuses a server that offers no STARTTLS: EMAIL_TLS_FAILED, fatal, nothing sent', async () => {
    const server = await smtp({ size: 5_000_000 });
    const [r] = await putAll(sinkFor(server.port, { requireTLS: true }), [photoAsset('IMG_TLS', 1000)]);
    expect(!r!.ok && [r!.e.code, r!.e.classification]).toEqual(['EMAIL_TLS_FAILED', 'fatal']);
    expect(server.messages).toHaveLength(0);
  });

  it('implicit TLS refuses a certificate it cannot verify: EMAIL_TLS_FAILED, fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-email-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {
      stdio: 'ignore',
    });
    const server = new SMTPServer({ secure: true, key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), logger: false, disableReverseLookup: true, authOptional: true });
    server.on('error', () => {}); // the client hanging up on a bad certificate is what this test expects
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.server.address() as AddressInfo).port;
    const [r] = await putAll(sinkFor(port, { secure: true }), [photoAsset('IMG_TLS2', 1000)]);
    expect(!r!.ok && [r!.e.code, r!.e.classification]).toEqual(['EMAIL_TLS_FAILED', 'fatal']);
  });
});
