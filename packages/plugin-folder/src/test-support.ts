import type { Asset, FactoryContext, PutContext, Resource, SecretStore } from '@keepsake/core';
import { silentLogger } from '@keepsake/core';

export function factoryContext(configDir: string): FactoryContext {
  return { logger: silentLogger, secrets: {} as SecretStore, storageDir: configDir, configDir, signal: new AbortController().signal, env: {} };
}

export function putContext(signal: AbortSignal = new AbortController().signal, progress: number[] = []): PutContext {
  return {
    signal,
    logger: silentLogger,
    resume: { load: () => undefined, save() {}, clear() {} },
    onProgress: (b) => progress.push(b),
    tempDir: '/tmp',
  };
}

/** A resource over bytes in memory, streamed in `chunk`-sized pieces, optionally pausing before each. */
export function bytesResource(name: string, bytes: Uint8Array, extra: Partial<Resource> & { beforeChunk?: (i: number) => Promise<void> } = {}): Resource {
  const { beforeChunk, ...rest } = extra;
  return {
    role: 'original',
    name,
    key: name,
    size: bytes.byteLength,
    mtimeMs: Date.parse('2021-04-10T10:44:00Z'),
    mediaType: 'application/octet-stream',
    open: (o = {}) =>
      (async function* () {
        for (let off = o.offset ?? 0, i = 0; off < bytes.byteLength; off += 65536, i++) {
          await beforeChunk?.(i);
          if (o.signal?.aborted) throw o.signal.reason;
          yield bytes.subarray(off, Math.min(bytes.byteLength, off + 65536));
        }
      })(),
    ...rest,
  };
}

export function asset(id: string, resources: Resource[], extra: Partial<Asset> = {}): Asset {
  return { id, kind: 'photo', capturedAt: { local: '2021-04-10T11:44:00', offset: '+01:00', source: 'exif' }, resources, ...extra };
}

export const text = (s: string) => new TextEncoder().encode(s);
