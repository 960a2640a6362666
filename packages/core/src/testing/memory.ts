import { createHash } from 'node:crypto';
import type { Asset, Resource } from '../asset.js';
import { defineCapabilities, type SinkCapabilities } from '../capabilities.js';
import { abortError, type KeepsakeError } from '../errors.js';
import type { PutContext, Receipt, Sink, StoredResource, VerifyResult } from '../sink.js';
import type { Source, SourceCapabilities } from '../source.js';

/** In-memory resource whose reads are counted (tests prove reruns read no bytes). */
export function memoryResource(key: string, bytes: Uint8Array, extra: Partial<Resource> = {}, counter?: { reads: number }): Resource {
  return {
    role: 'original',
    name: key.split('/').pop()!,
    key,
    size: bytes.byteLength,
    mtimeMs: 1_700_000_000_000,
    mediaType: 'image/jpeg',
    open: (o = {}) =>
      (async function* () {
        if (counter) counter.reads++;
        const chunk = 64 * 1024;
        for (let off = o.offset ?? 0; off < bytes.byteLength; off += chunk) {
          if (o.signal?.aborted) throw abortError(o.signal.reason);
          yield bytes.subarray(off, Math.min(off + chunk, bytes.byteLength));
        }
      })(),
    ...extra,
  };
}

export class MemorySource implements Source {
  readonly capabilities: SourceCapabilities;
  pulled = 0;
  constructor(
    readonly key: string,
    readonly assets: Asset[],
    caps: Partial<SourceCapabilities> = {},
  ) {
    this.capabilities = { expensiveReads: false, canDelete: false, ...caps };
  }
  async *scan(): AsyncIterable<Asset> {
    for (const a of this.assets) {
      this.pulled++;
      yield a;
    }
  }
}

/** A sink keeping bytes in a Map; content-addressed names; optional delay and scripted failures. */
export class MemorySink implements Sink {
  readonly capabilities: SinkCapabilities;
  readonly stored = new Map<string, Uint8Array>();
  puts = 0;
  active = 0;
  maxActive = 0;
  failNext: KeepsakeError[] = [];
  delayMs = 0;
  constructor(
    readonly key: string,
    caps: Partial<SinkCapabilities> = {},
  ) {
    this.capabilities = defineCapabilities({ hashes: ['sha256'], maxConcurrency: 2, canVerify: true, ...caps });
  }
  async put(asset: Asset, ctx: PutContext): Promise<Receipt> {
    this.puts++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (ctx.signal.aborted) throw abortError();
      const f = this.failNext.shift();
      if (f) throw f;
      const items: StoredResource[] = [];
      for (const r of asset.resources) {
        const parts: Uint8Array[] = [];
        const h = createHash('sha256');
        for await (const c of r.open({ signal: ctx.signal })) {
          parts.push(c);
          h.update(c);
          ctx.onProgress(c.byteLength);
        }
        const bytes = Buffer.concat(parts);
        const location = `${asset.id}/${r.name}`;
        this.stored.set(location, bytes);
        items.push({ resourceKey: r.key, role: r.role, name: r.name, location, size: bytes.byteLength, hashes: { sha256: h.digest('hex') }, verified: true });
      }
      return { items };
    } finally {
      this.active--;
    }
  }
  async verify(item: StoredResource): Promise<VerifyResult> {
    const b = this.stored.get(item.location);
    if (!b) return { status: 'missing' };
    const sha256 = createHash('sha256').update(b).digest('hex');
    return sha256 === item.hashes.sha256 ? { status: 'ok' } : { status: 'corrupt', actual: { sha256 } };
  }
}
