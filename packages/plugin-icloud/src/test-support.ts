/** Test helpers (not exported from the package). */
import { createHash, randomBytes } from 'node:crypto';
import type { Asset, PutContext, Resource, ResumeStore } from '@keepsake/core';
import { mediaTypeOf, silentLogger } from '@keepsake/core';

export function memoryResource(name: string, bytes: Uint8Array, role: Resource['role'] = 'original'): Resource {
  return {
    role,
    name,
    key: `mem/${name}`,
    size: bytes.byteLength,
    mtimeMs: Date.UTC(2024, 5, 1, 10, 20, 30),
    mediaType: mediaTypeOf(name),
    sha256: sha256(bytes),
    open: (o = {}) =>
      (async function* () {
        for (let off = o.offset ?? 0; off < bytes.byteLength; off += 65536) yield bytes.subarray(off, off + 65536);
      })(),
  };
}

export function livePhoto(id: string, still = randomBytes(40_000), motion = randomBytes(90_000)): Asset {
  return {
    id,
    kind: 'live',
    capturedAt: { local: '2024-06-01T10:20:30', source: 'exif' },
    resources: [memoryResource(`${id}.HEIC`, still), memoryResource(`${id}.MOV`, motion, 'motion'), memoryResource(`${id}.AAE`, Buffer.from('<plist/>'), 'adjustments')],
  };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function memoryResume(): ResumeStore & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return {
    map,
    load: <T>(k: string) => map.get(k) as T | undefined,
    save: (k: string, v: unknown) => void map.set(k, v),
    clear: (k: string) => void map.delete(k),
  };
}

export function putContext(resume: ResumeStore = memoryResume(), signal: AbortSignal = new AbortController().signal): PutContext {
  return { signal, logger: silentLogger, resume, onProgress() {}, tempDir: '/tmp' };
}
