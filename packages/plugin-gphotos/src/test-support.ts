/** Test helpers (not exported from the package). */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Asset, createFileSecretStore, type FactoryContext, mediaTypeOf, type PutContext, type Resource, type ResumeStore, silentLogger } from '@keepsake/core';
import { createTokenStore } from '@keepsake/transport-cloud';
import { AlbumResolver } from './albums.js';
import { PhotosLibraryApi } from './api.js';
import { createPhotosClient } from './client.js';
import type { FakeGooglePhotos } from './fake-google-photos.js';
import { GPhotosSink } from './gphotos-sink.js';
import { type GPhotosOptions, normalizeGPhotosOptions, tokenKey } from './options.js';

export function memoryResource(name: string, bytes: Uint8Array, role: Resource['role'] = 'original'): Resource {
  return {
    role,
    name,
    key: `mem/${name}`,
    size: bytes.byteLength,
    mtimeMs: 0,
    mediaType: mediaTypeOf(name),
    sha256: sha256(bytes),
    open: (o = {}) =>
      (async function* () {
        for (let off = o.offset ?? 0; off < bytes.byteLength; off += 8192) yield bytes.subarray(off, off + 8192);
      })(),
  };
}

export function photo(name: string, size: number): Asset {
  return { id: name, kind: 'photo', capturedAt: { local: '2024-06-01T10:20:30', source: 'exif' }, resources: [memoryResource(name, randomBytes(size))] };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A resume store that outlives sink instances, like the ledger's. `snapshot` copies it (a "kill -9" keeps only what was saved). */
export function persistentResume(initial?: Map<string, unknown>): ResumeStore & { map: Map<string, unknown>; snapshot(): Map<string, unknown> } {
  const map = new Map(initial ? structuredClone([...initial]) : []);
  return {
    map,
    load: <T>(k: string) => (map.has(k) ? (structuredClone(map.get(k)) as T) : undefined),
    save: (k: string, v: unknown) => void map.set(k, structuredClone(v)),
    clear: (k: string) => void map.delete(k),
    snapshot: () => new Map(structuredClone([...map])),
  };
}

export function putContext(resume: ResumeStore, signal: AbortSignal = new AbortController().signal): PutContext {
  return { signal, logger: silentLogger, resume, onProgress() {}, tempDir: tmpdir() };
}

export function factoryContext(env: NodeJS.ProcessEnv = {}): FactoryContext {
  const dir = mkdtempSync(join(tmpdir(), 'ks-gphotos-'));
  return {
    logger: silentLogger,
    secrets: createFileSecretStore(join(dir, 'secrets.json')),
    storageDir: dir,
    configDir: dir,
    signal: new AbortController().signal,
    env: { KEEPSAKE_SECRET_STORE: 'file', ...env },
  };
}

export function fakeOptions(fake: FakeGooglePhotos, extra: Partial<GPhotosOptions> = {}): GPhotosOptions {
  return normalizeGPhotosOptions({
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    endpoint: fake.url,
    authUrl: `${fake.url}/authorize`,
    tokenUrl: `${fake.url}/token`,
    ...extra,
  });
}

/** A sink wired to the fake with small raw/fragment sizes; the stored login has an expired access token. */
export async function sinkForFake(
  fake: FakeGooglePhotos,
  fctx: FactoryContext,
  extra: Partial<GPhotosOptions> = {},
  sizes: { rawMaxBytes?: number; fragmentBytes?: number } = {},
): Promise<GPhotosSink> {
  const options = fakeOptions(fake, extra);
  const store = createTokenStore(fctx.secrets, tokenKey(options));
  if (!(await store.load())) await store.save({ accessToken: 'stale', refreshToken: fake.issueRefreshToken(), expiresAt: 0 });
  const http = createPhotosClient(options, store, silentLogger, { ratePerSecond: 10_000, backoffBaseMs: 5 });
  const albums = options.album ? new AlbumResolver(new PhotosLibraryApi(http, options.endpoint), join(fctx.storageDir, 'albums.json')) : undefined;
  return new GPhotosSink({ options, http, logger: silentLogger, albums, rawMaxBytes: sizes.rawMaxBytes ?? 32 * 1024, fragmentBytes: sizes.fragmentBytes ?? 16 * 1024 });
}
