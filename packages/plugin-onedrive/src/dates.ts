import type { Asset, Resource } from '@keepsake/core';

/**
 * Graph `fileSystemInfo` for an upload. `createdDateTime` is the capture date when its UTC offset is
 * known; with an unknown zone the source's mtime (an absolute instant) is used instead, and only
 * without either the wall-clock capture time is sent as UTC. `lastModifiedDateTime` is the mtime.
 */
export function fileSystemInfoFor(asset: Asset, resource: Resource): { createdDateTime?: string; lastModifiedDateTime?: string } | undefined {
  const mtime = resource.mtimeMs !== undefined && Number.isFinite(resource.mtimeMs) ? new Date(resource.mtimeMs).toISOString() : undefined;
  let created: string | undefined;
  const c = asset.capturedAt;
  if (c && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(c.local)) {
    const local = c.local.slice(0, 19);
    if (c.offset && /^[+-]\d{2}:\d{2}$/.test(c.offset)) {
      const t = Date.parse(`${local}${c.offset}`);
      if (!Number.isNaN(t)) created = new Date(t).toISOString();
    } else if (!mtime) {
      const t = Date.parse(`${local}Z`);
      if (!Number.isNaN(t)) created = new Date(t).toISOString();
    }
  }
  created ??= mtime;
  const lastModified = mtime ?? created;
  if (!created && !lastModified) return undefined;
  return { createdDateTime: created, lastModifiedDateTime: lastModified };
}
