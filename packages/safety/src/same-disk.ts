import { stat } from 'node:fs/promises';

/** Folder sinks whose roots sit on one disk (one filesystem device). */
export interface SameDisk {
  sinkKeys: string[];
}

/**
 * Groups folder sinks (`folder:<root>` keys) by the device their root lives on. Two copies on one
 * disk are one disk failure away from none: `status` counts them as copies (they are), and says
 * so, since 3-2-1 wants them on different media. Roots that cannot be read now (an unplugged
 * drive) are left out.
 */
export async function sinksSharingADisk(sinkKeys: readonly string[]): Promise<SameDisk[]> {
  const byDevice = new Map<string, string[]>();
  for (const key of new Set(sinkKeys)) {
    if (!key.startsWith('folder:')) continue;
    const st = await stat(key.slice('folder:'.length)).catch(() => undefined);
    if (!st) continue;
    const keys = byDevice.get(String(st.dev)) ?? [];
    keys.push(key);
    byDevice.set(String(st.dev), keys);
  }
  return [...byDevice.values()].filter((keys) => keys.length > 1).map((keys) => ({ sinkKeys: keys }));
}
