import { type Resource, type StoredResource, sha256Of } from '@keepsake/core';

/** Prefix of `location` for resources this sink deliberately does not store. */
export const SKIPPED_PREFIX = 'skipped:';

/**
 * Core's pipeline wants an item for every resource of an asset. AAE edit sidecars cannot go to
 * this destination, so they are reported as deliberately not stored (`location` "skipped:…") with
 * their real hash (read once; they are tiny), instead of failing the whole asset. `skipped` items
 * never count as a copy (status/prune) and do not keep the delivery from being verified.
 */
export async function skippedItem(r: Resource, signal: AbortSignal): Promise<StoredResource> {
  const { sha256, bytes } = await sha256Of(r.open({ signal }));
  return {
    resourceKey: r.key,
    role: r.role,
    name: r.name,
    location: `${SKIPPED_PREFIX}Google Photos does not store edit sidecars`,
    size: bytes,
    hashes: { sha256 },
    verified: false,
    skipped: true,
  };
}
