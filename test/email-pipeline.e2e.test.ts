/**
 * The email sink inside core's real pipeline and SQLite ledger, against a local `smtp-server` that
 * advertises SIZE and requires AUTH: messages packed under the limit, attachments byte-identical,
 * a rerun sends nothing, an oversize asset reported and not sent, and a run whose connections are
 * cut mid-DATA counts nothing and the next run delivers everything.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Asset, createFileSecretStore, Ledger, type Resource, runPipeline, type Sink, silentLogger } from '@keepsake/core';
import { EMAIL_DEFAULTS, emailSink, passwordSecretKey } from '@keepsake/plugin-email';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generatedAsset, sourceOf } from './helpers/pipeline.js';
import { sha256, startCuttingProxy, startTestSmtp, type TestSmtp } from '../packages/plugin-email/src/test-support.js';

function resource(name: string, bytes: Uint8Array, role: Resource['role'] = 'original'): Resource {
  return {
    role,
    name,
    key: `gen/${name}`,
    size: bytes.byteLength,
    mtimeMs: Date.parse('2024-06-01T10:00:00Z'),
    mediaType: name.endsWith('.MOV') ? 'video/quicktime' : 'image/heic',
    open: ({ offset = 0 } = {}) =>
      (async function* () {
        for (let at = offset; at < bytes.byteLength; at += 32_768) yield bytes.subarray(at, at + 32_768);
      })(),
  };
}

let dir: string;
let server: TestSmtp;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-e2e-email-'));
  server = await startTestSmtp({ size: 400_000 });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function sinkOn(port: number): Promise<Sink> {
  const fctx = {
    logger: silentLogger,
    secrets: createFileSecretStore(join(dir, 'secrets.json')),
    storageDir: dir,
    configDir: dir,
    signal: new AbortController().signal,
    env: {},
  };
  const options = { ...EMAIL_DEFAULTS, host: '127.0.0.1', port, requireTLS: false, user: 'alice', from: 'alice@example.com', to: 'bob@example.com', timeoutSeconds: 10 };
  await fctx.secrets.set(passwordSecretKey(options), 's3cret');
  const sink = await emailSink.create(options, fctx);
  cleanups.push(async () => sink.close?.());
  return sink;
}
const run = (sink: Sink, assets: Asset[], ledger: Ledger) =>
  runPipeline({ name: 'phone-to-mail', source: sourceOf(assets), transforms: [], sinks: [{ sink, use: 'email', transforms: [], offsite: true }], close: async () => {} }, { ledger });

describe('email sink in the pipeline', () => {
  it('packs assets into messages under the server SIZE, byte-identical; a rerun sends nothing; oversize is reported', async () => {
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'));
    const assets = [
      generatedAsset('live-1', [resource('IMG_0001.HEIC', randomBytes(60_000)), resource('IMG_0001.MOV', randomBytes(110_000), 'motion')]),
      ...Array.from({ length: 6 }, (_, i) => generatedAsset(`photo-${i}`, [resource(`IMG_01${i}0.HEIC`, randomBytes(50_000 + i * 7_000))])),
      generatedAsset('too-big', [resource('IMG_9999.MOV', randomBytes(320_000))]),
    ];
    const first = await run(await sinkOn(server.port), assets, ledger);
    expect(first).toMatchObject({ copied: 7, failed: 1 });
    expect(first.failures[0]).toMatchObject({ assetId: 'too-big', error: { code: 'TOO_LARGE' } });
    expect(server.messages.length).toBeGreaterThan(1);
    for (const m of server.messages) expect(m.raw.byteLength).toBeLessThanOrEqual(400_000);
    const arrived = new Map(server.messages.flatMap((m) => m.parsed.attachments.map((a) => [a.filename!, sha256(a.content)] as const)));
    for (const a of assets.slice(0, -1)) {
      for (const r of a.resources) {
        const bytes = Buffer.concat(await Array.fromAsync(r.open()));
        expect(arrived.get(r.name)).toBe(sha256(bytes));
      }
    }
    // the Live Photo's parts travelled in one message
    const liveMessage = server.messages.find((m) => m.parsed.attachments.some((a) => a.filename === 'IMG_0001.HEIC'))!;
    expect(liveMessage.parsed.attachments.map((a) => a.filename)).toContain('IMG_0001.MOV');
    expect(arrived.has('IMG_9999.MOV')).toBe(false);

    const sent = server.messages.length;
    const second = await run(await sinkOn(server.port), assets.slice(0, -1), ledger);
    // email cannot be verified: for such a sink "delivered" is done, so the rerun skips them
    // (and the sink's own sent log would answer "already sent" if the ledger were lost)
    expect(second).toMatchObject({ copied: 0, skipped: 7, failed: 0 });
    expect(server.messages.length).toBe(sent);
    ledger.close();
  });

  it('connections cut mid-DATA count nothing; the next run delivers every asset once', async () => {
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'));
    const proxy = await startCuttingProxy(server.port, 40_000);
    cleanups.push(() => proxy.close());
    const assets = Array.from({ length: 4 }, (_, i) => generatedAsset(`cut-${i}`, [resource(`IMG_02${i}0.HEIC`, randomBytes(70_000))]));
    const first = await run(await sinkOn(proxy.port), assets, ledger);
    expect(first).toMatchObject({ copied: 0, failed: 4 });
    expect(server.messages).toHaveLength(0);
    const second = await run(await sinkOn(server.port), assets, ledger);
    expect(second).toMatchObject({ copied: 4, failed: 0 });
    expect(server.messages.flatMap((m) => m.parsed.attachments.map((a) => a.filename)).sort()).toEqual(assets.map((a) => a.resources[0]!.name).sort());
    ledger.close();
  });
});
