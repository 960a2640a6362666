import { createHash, type Hash } from 'node:crypto';
import type { HashName } from './capabilities.js';

/** An incremental hasher: feed bytes in order, then read the digest as text. */
export interface Hasher {
  update(chunk: Uint8Array): void;
  /** Digest in the algorithm's conventional text form (hex for sha*, base64 for quickXorHash). */
  digest(): string;
}

const registry = new Map<string, () => Hasher>();

function nodeHasher(alg: string): () => Hasher {
  return () => {
    const h: Hash = createHash(alg);
    return { update: (c) => void h.update(c), digest: () => h.digest('hex') };
  };
}
registry.set('sha256', nodeHasher('sha256'));
registry.set('sha1', nodeHasher('sha1'));
registry.set('md5', nodeHasher('md5'));

/** Lets a plugin add a hash (OneDrive's quickXorHash) so verification stays local (rclone `RegisterHash`). */
export function registerHash(name: HashName, create: () => Hasher): void {
  registry.set(name, create);
}

export function createHasher(name: HashName): Hasher {
  const make = registry.get(name);
  if (!make) throw new Error(`Unknown hash "${name}"; a plugin must register it first`);
  return make();
}

/**
 * Passes chunks through unchanged while hashing them with several algorithms in one pass;
 * `result()` gives the digests and byte count once the stream is consumed.
 */
export function hashingTap(source: AsyncIterable<Uint8Array>, names: readonly HashName[] = ['sha256']) {
  const hashers = names.map((n) => [n, createHasher(n)] as const);
  let bytes = 0;
  let done = false;
  const stream = (async function* () {
    for await (const chunk of source) {
      for (const [, h] of hashers) h.update(chunk);
      bytes += chunk.byteLength;
      yield chunk;
    }
    done = true;
  })();
  return {
    stream,
    result(): { bytes: number; hashes: Record<string, string> } {
      if (!done) throw new Error('hashingTap: stream not fully consumed');
      return { bytes, hashes: Object.fromEntries(hashers.map(([n, h]) => [n, h.digest()])) };
    },
  };
}

/** Reads a whole stream and returns its sha256 (hex) and size. */
export async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of source) {
    h.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: h.digest('hex'), bytes };
}
