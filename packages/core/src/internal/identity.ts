import { createHash } from 'node:crypto';
import type { Asset } from '../asset.js';

/**
 * Ledger key of one version of a source item: source, asset id and each resource's key, size and
 * mtime. Computed from metadata alone, so a rerun finds its deliveries without reading bytes; a
 * re-shot IMG_0001 after the counter wraps has other sizes/mtimes and gets a new key.
 */
export function assetKeyOf(sourceKey: string, asset: Asset): string {
  const h = createHash('sha256').update(sourceKey).update('\0').update(asset.id);
  for (const r of [...asset.resources].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    h.update('\0').update(r.key).update('\0').update(String(r.size ?? '')).update('\0').update(String(r.mtimeMs ?? ''));
  }
  return h.digest('hex').slice(0, 40);
}

/** Content identity of an asset: its resources' roles and hashes. Same bytes from any source → same key. */
export function contentKeyOf(asset: Asset): string | undefined {
  if (asset.resources.some((r) => !r.sha256)) return undefined;
  const parts = asset.resources.map((r) => `${r.role}:${r.sha256}`).sort();
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 40);
}
