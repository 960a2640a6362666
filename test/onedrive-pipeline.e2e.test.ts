/**
 * The onedrive sink inside core's real pipeline and SQLite ledger, against the package's fake
 * Graph on 127.0.0.1: a full run, a no-op rerun, a `kill -9` mid-upload that the next run resumes
 * from the server's offset, and a spent quota that stops the run with progress kept.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { type Asset, createFileSecretStore, Ledger, type Resource, runPipeline, type Sink, silentLogger, type Source } from '@keepsake/core';
import { createOneDriveSink, QuickXorHash, quickXorHash, registerQuickXorHash } from '@keepsake/plugin-onedrive';
import { createTokenStore, tokenSetFrom } from '@keepsake/transport-cloud';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { patternBytes } from './helpers/files.js';
import { type FakeGraph, startFakeGraph } from '../packages/plugin-onedrive/test/fake-graph.js';

registerQuickXorHash();
const KiB = 1024;


function generatedResource(name: string, seed: number, size: number, role: Resource['role'] = 'original'): Resource {
  return {
    role,
    name,
    key: `gen/${name}`,
    size,
    mtimeMs: Date.parse('2024-06-01T10:00:00Z'),
    mediaType: 'application/octet-stream',
    open: ({ offset = 0 } = {}) =>
      (async function* () {
        for (let at = offset; at < size; at += 64 * KiB) yield patternBytes(seed, at, Math.min(64 * KiB, size - at));
      })(),
  };
}

function asset(id: string, resources: Resource[]): Asset {
  return { id, kind: resources.length > 1 ? 'live' : 'photo', capturedAt: { local: '2024-06-01T12:00:00', offset: '+02:00', source: 'exif' }, resources };
}

function sourceOf(assets: Asset[]): Source {
  return {
    key: 'e2e:generated',
    capabilities: { expensiveReads: false, canDelete: false },
    async *scan() {
      yield* assets;
    },
  };
}

let fake: FakeGraph;
let dir: string;
let sinks: Sink[] = [];
const options = () => ({ clientId: 'e2e-client', endpoint: fake.endpoint, authority: fake.url, fragmentSize: 327_680, simpleUploadMaxBytes: 0 });
const fctx = () => ({
  logger: silentLogger,
  secrets: createFileSecretStore(join(dir, 'secrets.json')),
  storageDir: dir,
  configDir: dir,
  signal: new AbortController().signal,
  env: { KEEPSAKE_SECRET_STORE: 'file' },
});
const sink = async () => {
  const s = await createOneDriveSink(options(), fctx());
  sinks.push(s);
  return s;
};
const run = async (s: Sink, assets: Asset[], ledger: Ledger) =>
  runPipeline({ name: 'phone-to-onedrive', source: sourceOf(assets), transforms: [], sinks: [{ sink: s, use: 'onedrive', transforms: [], offsite: true }], close: async () => {} }, { ledger });

beforeEach(async () => {
  fake = await startFakeGraph({ quickXorHash: () => new QuickXorHash() });
  dir = await mkdtemp(join(tmpdir(), 'ks-e2e-onedrive-'));
  const store = createTokenStore(createFileSecretStore(join(dir, 'secrets.json')), `keepsake:onedrive:e2e-client@${fake.url}/consumers`);
  await store.save(tokenSetFrom(fake.issueTokens()));
});
afterEach(async () => {
  for (const s of sinks) await s.close?.();
  sinks = [];
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe('onedrive sink in the pipeline', () => {
  it('delivers and verifies every asset, and a rerun moves no bytes', async () => {
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'));
    const assets = [
      asset('live-1', [generatedResource('IMG_0001.HEIC', 1, 200 * KiB), generatedResource('IMG_0001.MOV', 2, 900 * KiB, 'motion')]),
      asset('photo-2', [generatedResource('IMG_0002.HEIC', 3, 50 * KiB)]),
    ];
    const first = await run(await sink(), assets, ledger);
    expect(first).toMatchObject({ copied: 2, failed: 0 });
    expect(fake.files().map((f) => f.path).sort()).toEqual([
      'Pictures/keepsake/2024/06/IMG_0001.HEIC',
      'Pictures/keepsake/2024/06/IMG_0001.MOV',
      'Pictures/keepsake/2024/06/IMG_0002.HEIC',
    ]);
    expect(fake.file('Pictures/keepsake/2024/06/IMG_0001.MOV')!.quickXorHash).toBe(quickXorHash(patternBytes(2, 0, 900 * KiB)));
    const uploaded = fake.stats.uploadBytes;
    const second = await run(await sink(), assets, ledger);
    expect(second).toMatchObject({ copied: 0, skipped: 2, failed: 0 });
    expect(fake.stats.uploadBytes).toBe(uploaded);
    ledger.close();
  });

  it('stops cleanly on a full drive (QUOTA_EXHAUSTED) and keeps earlier progress in the ledger', async () => {
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'));
    const assets = [asset('a', [generatedResource('A.HEIC', 4, 20 * KiB)])];
    expect(await run(await sink(), assets, ledger)).toMatchObject({ copied: 1 });
    const again = await sink();
    fake.fault({
      match: (req) => req.method === 'POST' && req.url!.includes('createUploadSession'),
      status: 507,
      times: 100,
      body: { error: { code: 'insufficientStorage', message: 'Insufficient Space Available' } },
    });
    const more = [...assets, asset('b', [generatedResource('B.HEIC', 5, 20 * KiB)]), asset('c', [generatedResource('C.HEIC', 6, 20 * KiB)])];
    const report = await run(again, more, ledger);
    expect(report.stoppedBy).toMatchObject({ code: 'QUOTA_EXHAUSTED' });
    expect(report.skipped).toBe(1);
    ledger.close();
  });
});

describe('kill -9 mid-upload', () => {
  it('the next run continues from the offset the server reports, sending no byte twice', async () => {
    const size = 3000 * KiB;
    const ledgerPath = join(dir, 'ledger.sqlite');
    const require = createRequire(import.meta.url);
    const distOf = (pkg: string) => pathToFileURL(join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'index.js')).href;
    const coreUrl = distOf('@keepsake/core');
    const pluginUrl = distOf('@keepsake/plugin-onedrive');
    const script = join(dir, 'upload-child.mjs');
    await writeFile(
      script,
      `const core = await import(${JSON.stringify(coreUrl)});
const od = await import(${JSON.stringify(pluginUrl)});
${patternBytes.toString()}
od.registerQuickXorHash();
const [ledgerPath, dir, endpoint, authority] = process.argv.slice(2);
const fctx = { logger: core.silentLogger, secrets: core.createFileSecretStore(dir + '/secrets.json'), storageDir: dir, configDir: dir, signal: new AbortController().signal, env: { KEEPSAKE_SECRET_STORE: 'file' } };
const sink = await od.createOneDriveSink({ clientId: 'e2e-client', endpoint, authority, fragmentSize: 327680, simpleUploadMaxBytes: 0 }, fctx);
const size = ${size};
const resource = { role: 'original', name: 'IMG_0100.MOV', key: 'gen/IMG_0100.MOV', size, mtimeMs: Date.parse('2024-06-01T10:00:00Z'), mediaType: 'video/quicktime',
  open: ({ offset = 0 } = {}) => (async function* () { for (let at = offset; at < size; at += 65536) { await new Promise((r) => setTimeout(r, 5)); yield patternBytes(7, at, Math.min(65536, size - at)); } })() };
const asset = { id: 'video-100', kind: 'video', capturedAt: { local: '2024-06-01T12:00:00', offset: '+02:00', source: 'quicktime' }, resources: [resource] };
const source = { key: 'e2e:generated', capabilities: { expensiveReads: false, canDelete: false }, async *scan() { yield asset; } };
const ledger = core.Ledger.open(ledgerPath);
await core.runPipeline({ name: 'phone-to-onedrive', source, transforms: [], sinks: [{ sink, use: 'onedrive', transforms: [], offsite: true }], close: async () => {} }, { ledger });
console.log('finished');
`,
    );
    const child = spawn(process.execPath, [script, ledgerPath, dir, fake.endpoint, fake.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let childOut = '';
    child.stdout.on('data', (d) => (childOut += d));
    child.stderr.on('data', (d) => (childOut += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
    // Kill it once the server holds about a third of the file.
    const killedAt = await new Promise<number>((resolve, reject) => {
      const t = setInterval(() => {
        const s = [...fake.sessions.values()][0];
        if (s && s.offset >= size / 3) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve(s.offset);
        }
      }, 2);
      void exited.then(() => {
        clearInterval(t);
        reject(new Error(`child exited before the kill: ${childOut}`));
      });
    });
    expect(await exited).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    const session = [...fake.sessions.values()][0]!;
    const sentBeforeKill = session.fragments.length;
    const offsetAtRestart = session.offset;
    expect(offsetAtRestart).toBeLessThan(size);

    // The next run, in a new process (here: this one), with the same ledger.
    const ledger = Ledger.open(ledgerPath);
    const video = generatedResource('IMG_0100.MOV', 7, size);
    const report = await run(await sink(), [{ ...asset('video-100', [video]), kind: 'video' }], ledger);
    expect(report).toMatchObject({ copied: 1, failed: 0 });
    expect(fake.sessions.size).toBe(1);
    expect(session.fragments[sentBeforeKill]![0]).toBe(offsetAtRestart);
    expect(fake.stats.uploadBytes).toBe(size);
    expect(fake.file('Pictures/keepsake/2024/06/IMG_0100.MOV')!.quickXorHash).toBe(quickXorHash(patternBytes(7, 0, size)));
    ledger.close();
  });
});
