// Test helpers shared by the package's tests and the e2e tests (not part of the published package).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Asset, createFileSecretStore, type FactoryContext, type PutContext, type Resource, type ResumeStore, silentLogger } from '@keepsake/core';
import { createTokenStore, tokenSetFrom } from '@keepsake/transport-cloud';
import { type OneDriveOptions, resolveOptions, tokenKey } from '../src/options.js';
import { QuickXorHash } from '../src/quick-xor-hash.js';
import { type FakeGraph, type FakeGraphOptions, startFakeGraph } from './fake-graph.js';

/** Deterministic pseudo-random bytes (xorshift), so tests can regenerate any range without storing it. */
export function patternBytes(seed: number, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    let x = (offset + i + 1) * 2654435761 + seed * 40503;
    x ^= x >>> 13;
    x = Math.imul(x, 0x5bd1e995);
    x ^= x >>> 15;
    out[i] = x & 0xff;
  }
  return out;
}

export interface MemoryResourceOptions {
  role?: Resource['role'];
  mtimeMs?: number;
  /** Called with the absolute offset after each chunk (to inject events mid-stream). */
  onChunk?: (offset: number) => void;
  /** Announced size, when it should differ from the bytes (e.g. a fake 300 GB file). */
  size?: number;
  chunk?: number;
}

export function memoryResource(name: string, bytes: Buffer, o: MemoryResourceOptions = {}): Resource {
  const chunk = o.chunk ?? 64 * 1024;
  return {
    role: o.role ?? 'original',
    name,
    key: `src/${name}`,
    size: o.size ?? bytes.length,
    mtimeMs: o.mtimeMs ?? Date.parse('2024-05-17T07:31:00Z'),
    mediaType: 'application/octet-stream',
    open: ({ offset = 0, signal } = {}) =>
      (async function* () {
        for (let i = offset; i < bytes.length; i += chunk) {
          signal?.throwIfAborted();
          const end = Math.min(bytes.length, i + chunk);
          yield bytes.subarray(i, end);
          o.onChunk?.(end);
        }
      })(),
  };
}

export function photoAsset(resources: Resource[], id = 'a1'): Asset {
  return { id, kind: resources.length > 1 ? 'live' : 'photo', capturedAt: { local: '2024-05-17T09:30:00', offset: '+02:00', source: 'exif' }, resources };
}

export function memoryResume(): ResumeStore & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    load: <T>(k: string) => structuredClone(data.get(k)) as T | undefined,
    save: (k, v) => void data.set(k, structuredClone(v)),
    clear: (k) => void data.delete(k),
  };
}

export function putContext(resume: ResumeStore = memoryResume(), signal: AbortSignal = new AbortController().signal): PutContext & { progress: number } {
  const ctx = {
    signal,
    logger: silentLogger,
    resume,
    progress: 0,
    onProgress(n: number) {
      ctx.progress += n;
    },
    tempDir: tmpdir(),
  };
  return ctx;
}

/** A fake Graph, a temp secrets file with a signed-in user's tokens, and sink options pointing at both. */
export async function onedriveFixture(fakeOptions: Partial<FakeGraphOptions> = {}, options: Partial<OneDriveOptions> = {}) {
  const fake: FakeGraph = await startFakeGraph({ quickXorHash: () => new QuickXorHash(), ...fakeOptions });
  const dir = await mkdtemp(join(tmpdir(), 'ks-onedrive-'));
  const secrets = createFileSecretStore(join(dir, 'secrets.json'));
  const sinkOptions = { clientId: 'test-client', endpoint: fake.endpoint, authority: fake.url, fragmentSize: 327_680, ...options };
  const store = createTokenStore(secrets, tokenKey(resolveOptions(sinkOptions)));
  const fctx: FactoryContext = {
    logger: silentLogger,
    secrets,
    storageDir: dir,
    configDir: dir,
    signal: new AbortController().signal,
    env: { KEEPSAKE_SECRET_STORE: 'file' },
  };
  return {
    fake,
    dir,
    secrets,
    store,
    sinkOptions,
    fctx,
    async signIn() {
      await store.save(tokenSetFrom(fake.issueTokens()));
    },
    async close() {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
