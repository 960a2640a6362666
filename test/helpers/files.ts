import { createHash } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Deterministic pseudo-random bytes (sha256 in counter mode) so generated trees are reproducible. */
export function bytesFor(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

export interface GeneratedFile {
  rel: string;
  size: number;
  sha256: string;
}

/**
 * Writes `count` camera-roll-like files under `root/DCIM/1xxAPPLE/IMG_nnnn.JPG` with distinct
 * content, sizes from `sizeOf(i)`, and mtimes spread over a year (so templates by date spread too).
 */
export async function writeCameraRoll(root: string, count: number, sizeOf: (i: number) => number, seed = 'roll'): Promise<GeneratedFile[]> {
  const files: GeneratedFile[] = [];
  const t0 = Date.UTC(2023, 0, 1);
  for (let i = 0; i < count; i++) {
    const folder = `${100 + Math.floor(i / 1000)}APPLE`;
    const rel = join('DCIM', folder, `IMG_${String(i % 10000).padStart(4, '0')}.JPG`);
    const data = bytesFor(`${seed}:${i}`, sizeOf(i));
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), data);
    const t = new Date(t0 + i * 3_600_000 * 7);
    await utimes(join(root, rel), t, t);
    files.push({ rel, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  }
  return files;
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Deterministic bytes for any range of a generated file. Self-contained on purpose: tests pass
 * its source text (`patternBytes.toString()`) to child processes.
 */
export function patternBytes(seed: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let x = (offset + i + 1) * 2654435761 + seed * 40503;
    x ^= x >>> 13;
    x = Math.imul(x, 0x5bd1e995);
    x ^= x >>> 15;
    out[i] = x & 0xff;
  }
  return out;
}
