/**
 * The gphotos sink inside core's real pipeline and SQLite ledger, against the package's local fake
 * of Google's OAuth + Photos Library API: > 50 assets in batches of at most 50, a rerun that
 * uploads and creates nothing, a spent daily quota that stops the run with progress kept, and a
 * `kill -9` mid-upload whose next run continues the same resumable session from the server's offset.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Asset, createFileSecretStore, type FactoryContext, Ledger, type Resource, runPipeline, type Sink, silentLogger } from '@keepsake/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generatedAsset, sourceOf } from './helpers/pipeline.js';
import { patternBytes } from './helpers/files.js';
import { type FakeGooglePhotos, startFakeGooglePhotos } from '../packages/plugin-gphotos/src/fake-google-photos.js';
import { sinkForFake } from '../packages/plugin-gphotos/src/test-support.js';

const KiB = 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function generated(name: string, seed: number, size: number, role: Resource['role'] = 'original', mediaType = 'image/jpeg'): Resource {
  return {
    role,
    name,
    key: `gen/${name}`,
    size,
    mtimeMs: Date.parse('2024-06-01T10:00:00Z'),
    mediaType,
    open: ({ offset = 0 } = {}) =>
      (async function* () {
        for (let at = offset; at < size; at += 16 * KiB) yield patternBytes(seed, at, Math.min(16 * KiB, size - at));
      })(),
  };
}

let fake: FakeGooglePhotos;
let dir: string;
let fctx: FactoryContext;
const sinks: Sink[] = [];
beforeEach(async () => {
  fake = await startFakeGooglePhotos();
  dir = await mkdtemp(join(tmpdir(), 'ks-e2e-gphotos-'));
  fctx = { logger: silentLogger, secrets: createFileSecretStore(join(dir, 'secrets.json')), storageDir: dir, configDir: dir, signal: new AbortController().signal, env: {} };
});
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close?.().catch(() => {});
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});
const sink = async () => {
  const s = await sinkForFake(fake, fctx, {}, { rawMaxBytes: 32 * KiB, fragmentBytes: 64 * KiB });
  sinks.push(s);
  return s;
};
const run = (s: Sink, assets: Asset[], ledger: Ledger) =>
  runPipeline({ name: 'phone-to-gphotos', source: sourceOf(assets), transforms: [], sinks: [{ sink: s, use: 'gphotos', transforms: [], offsite: true }], close: async () => {} }, { ledger });

describe('gphotos sink in the pipeline', () => {
  it('> 50 assets: batches of at most 50, serial; every item created once; a rerun creates nothing', async () => {
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'));
    const assets = [
      generatedAsset('live-1', [
        generated('IMG_0001.HEIC', 1, 20 * KiB, 'original', 'image/heic'),
        generated('IMG_0001.MOV', 2, 150 * KiB, 'motion', 'video/quicktime'),
        generated('IMG_0001.AAE', 3, 300, 'adjustments', 'application/x-apple-aae+xml'),
      ]),
      ...Array.from({ length: 64 }, (_, i) => generatedAsset(`p-${i}`, [generated(`IMG_1${String(i).padStart(3, '0')}.JPG`, 100 + i, 2 * KiB + i)])),
    ];
    const first = await run(await sink(), assets, ledger);
    expect(first).toMatchObject({ copied: 65, failed: 0 });
    expect(fake.items).toHaveLength(66); // the Live Photo is two items; the AAE is not uploaded
    expect(Math.max(...fake.batchSizes)).toBeLessThanOrEqual(50);
    expect(fake.maxConcurrentBatches).toBe(1);
    expect(fake.items.find((i) => i.filename === 'IMG_0001.MOV')!.sha256).toBe(sha256(patternBytes(2, 0, 150 * KiB)));
    const uploads = fake.counts.rawUploads + fake.counts.resumableStarts;
    const second = await run(await sink(), assets, ledger);
    expect(second).toMatchObject({ copied: 0, skipped: 65, failed: 0 });
    expect(fake.items).toHaveLength(66);
    expect(fake.counts.rawUploads + fake.counts.resumableStarts).toBe(uploads);
    ledger.close();
  });

  it('a spent daily quota stops the run cleanly; the next run continues without duplicates', async () => {
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'));
    const assets = Array.from({ length: 8 }, (_, i) => generatedAsset(`q-${i}`, [generated(`IMG_2${i}00.JPG`, 200 + i, 4 * KiB)]));
    fake.quotaAfterUploads = 3;
    const first = await run(await sink(), assets, ledger);
    expect(first.stoppedBy).toMatchObject({ code: 'QUOTA_EXHAUSTED' });
    // the stop aborts puts still waiting for batchCreate; their upload tokens stay in the ledger
    expect(first.copied).toBeLessThanOrEqual(3);
    expect(fake.counts.rawUploads).toBe(3);
    fake.quotaAfterUploads = Number.POSITIVE_INFINITY;
    const second = await run(await sink(), assets, ledger);
    expect(second).toMatchObject({ copied: 8 - first.copied, skipped: first.copied, failed: 0 });
    expect(fake.items.map((i) => i.filename).sort()).toEqual(assets.map((a) => a.resources[0]!.name).sort());
    // the three files uploaded before the stop were not uploaded again: their saved tokens were used
    expect(fake.counts.rawUploads).toBe(8);
    ledger.close();
  });
});

describe('kill -9 mid-upload', () => {
  it('the next run continues the same session from the server offset, sending no byte twice, creating one item', async () => {
    const size = 1200 * KiB;
    const ledgerPath = join(dir, 'ledger.sqlite');
    // a stored login for the child (expired access token: it refreshes first)
    const { createTokenStore } = await import('@keepsake/transport-cloud');
    await createTokenStore(fctx.secrets, `keepsake:gphotos:${fake.clientId}`).save({ accessToken: 'stale', refreshToken: fake.issueRefreshToken(), expiresAt: 0 });
    const require = createRequire(import.meta.url);
    const distOf = (pkg: string) => pathToFileURL(join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'index.js')).href;
    const script = join(dir, 'gphotos-child.mjs');
    await writeFile(
      script,
      `const core = await import(${JSON.stringify(distOf('@keepsake/core'))});
const gp = await import(${JSON.stringify(distOf('@keepsake/plugin-gphotos'))});
${patternBytes.toString()}
const [ledgerPath, dir, url, clientId, clientSecret] = process.argv.slice(2);
const options = gp.normalizeGPhotosOptions({ clientId, clientSecret, endpoint: url, authUrl: url + '/authorize', tokenUrl: url + '/token' });
const store = gp.tokenStoreFor(options, core.createFileSecretStore(dir + '/secrets.json'));
const http = gp.createPhotosClient(options, store, core.silentLogger, { ratePerSecond: 10000 });
const sink = new gp.GPhotosSink({ options, http, logger: core.silentLogger, rawMaxBytes: 32768, fragmentBytes: 65536 });
const size = ${size};
const resource = { role: 'original', name: 'IMG_0100.MOV', key: 'gen/IMG_0100.MOV', size, mtimeMs: Date.parse('2024-06-01T10:00:00Z'), mediaType: 'video/quicktime',
  open: ({ offset = 0 } = {}) => (async function* () { for (let at = offset; at < size; at += 16384) { await new Promise((r) => setTimeout(r, 2)); yield patternBytes(7, at, Math.min(16384, size - at)); } })() };
const asset = { id: 'video-100', kind: 'video', capturedAt: { local: '2024-06-01T12:00:00', source: 'quicktime' }, resources: [resource] };
const source = { key: 'e2e:generated', capabilities: { expensiveReads: false, canDelete: false }, async *scan() { yield asset; } };
const ledger = core.Ledger.open(ledgerPath);
await core.runPipeline({ name: 'phone-to-gphotos', source, transforms: [], sinks: [{ sink, use: 'gphotos', transforms: [], offsite: true }], close: async () => {} }, { ledger });
console.log('finished');
`,
    );
    const chunks: { offset: number; length: number }[] = [];
    let killedAt: number | undefined;
    const child = spawn(process.execPath, [script, ledgerPath, dir, fake.url, fake.clientId, fake.clientSecret], { stdio: ['ignore', 'pipe', 'pipe'] });
    let childOut = '';
    child.stdout.on('data', (d) => (childOut += d));
    child.stderr.on('data', (d) => (childOut += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
    fake.onChunk = ({ offset, length }) => {
      chunks.push({ offset, length });
      if (killedAt === undefined && offset >= size / 3) {
        killedAt = offset;
        child.kill('SIGKILL');
      }
      return 'ok';
    };
    expect(await exited, childOut).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    const beforeRestart = chunks.length;

    const ledger = Ledger.open(ledgerPath);
    const video = generated('IMG_0100.MOV', 7, size, 'original', 'video/quicktime');
    const report = await run(await sink(), [{ ...generatedAsset('video-100', [video]), kind: 'video' }], ledger);
    expect(report).toMatchObject({ copied: 1, failed: 0 });
    expect(fake.counts.resumableStarts).toBe(1);
    expect(chunks[beforeRestart]!.offset).toBeGreaterThan(0);
    // every byte sent exactly once, in order
    let expected = 0;
    for (const c of chunks) {
      expect(c.offset).toBe(expected);
      expected += c.length;
    }
    expect(expected).toBe(size);
    expect(fake.items).toHaveLength(1);
    expect(fake.items[0]!.sha256).toBe(sha256(patternBytes(7, 0, size)));
    ledger.close();
  });
});
