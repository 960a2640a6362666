import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Asset,
  hashFile,
  isKeepsakeError,
  PORTABLE_SANITIZE,
  type PutContext,
  type Resource,
  SinkError,
  type StoredResource,
  sanitizeSegment,
  sha256Of,
  withCounter,
  writeStreamAtomic,
} from '@keepsake/core';

/** Resources worth handing to iCloud/Photos: AAE edit sidecars mean nothing there. */
export function deliverable(asset: Asset): Resource[] {
  return asset.resources.filter((r) => r.role !== 'adjustments');
}

/**
 * Writes an asset's resources into `dir` under their own (sanitised) names, atomically and
 * hashed in-stream, then reads each file back and compares. A Live Photo's still and video keep
 * the same base name (both get the same ` (n)` counter when a different file already holds the
 * name), which is how iCloud and Photos recognise a pair. A file with the same name and the same
 * bytes is reported `deduped` instead of written again, so reruns are idempotent.
 */
export async function writeAssetToFolder(dir: string, asset: Asset, ctx: PutContext): Promise<StoredResource[]> {
  await mkdir(dir, { recursive: true });
  const resources = deliverable(asset);
  const hashes = await Promise.all(resources.map(async (r) => r.sha256 ?? (await sha256Of(r.open({ signal: ctx.signal }))).sha256));
  for (let n = 1; n < 1000; n++) {
    const names = resources.map((r) => {
      const base = sanitizeSegment(r.name, PORTABLE_SANITIZE);
      return n === 1 ? base : withCounter(base, n);
    });
    const existing = await Promise.all(names.map((name) => existingHash(join(dir, name), ctx.signal)));
    if (existing.some((h, i) => h !== undefined && h !== hashes[i])) continue; // another photo holds a name: next counter
    const out: StoredResource[] = [];
    let collided = false;
    for (const [i, r] of resources.entries()) {
      const name = names[i]!;
      const dest = join(dir, name);
      if (existing[i] !== undefined) {
        out.push(stored(r, name, (await stat(dest)).size, hashes[i]!, true));
        continue;
      }
      try {
        const written = await writeStreamAtomic(dest, r.open({ signal: ctx.signal }), {
          signal: ctx.signal,
          onProgress: (b) => ctx.onProgress(b),
          mtimeMs: r.mtimeMs,
          noClobber: true,
        });
        await readBack(dest, written.hashes.sha256, r.name, ctx.signal);
        out.push(stored(r, name, written.bytes, written.hashes.sha256, false));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          collided = true; // someone wrote the name between our check and the rename: start over
          break;
        }
        if (isKeepsakeError(err)) throw err;
        throw SinkError.writeFailed(`Could not write ${dest}: ${(err as Error).message}`, { cause: err, location: dest, stage: 'put', assetId: asset.id });
      }
    }
    if (!collided) return out;
  }
  throw SinkError.writeFailed(`No free name for ${resources[0]?.name} in ${dir} after 999 tries`, { location: dir, assetId: asset.id });
}

async function existingHash(path: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    return (await hashFile(path, ['sha256'], signal)).hashes.sha256;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Re-reads what landed on disk; a mismatch removes the file (so iCloud never uploads it) and is retryable. */
async function readBack(dest: string, expected: string, what: string, signal: AbortSignal): Promise<void> {
  const actual = (await hashFile(dest, ['sha256'], signal)).hashes.sha256!;
  if (actual === expected) return;
  await rm(dest, { force: true });
  throw SinkError.verifyMismatch(what, expected, actual, { location: dest });
}

function stored(r: Resource, name: string, size: number, sha256: string, deduped: boolean): StoredResource {
  return { resourceKey: r.key, role: r.role, name: r.name, location: name, size, hashes: { sha256 }, verified: true, ...(deduped ? { deduped } : {}) };
}
