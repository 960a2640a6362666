import { splitName, truncateUtf8 } from '@keepsake/core';

const enc = new TextEncoder();

/**
 * `IMG_0001.HEIC` with counter n: n = 1 is the name itself, n ≥ 2 appends ` (n)` before the
 * extension. The base is shortened first so the suffix and extension survive the byte limit.
 */
export function nameWithCounter(name: string, n: number, maxBytes = 255): string {
  if (n <= 1) return name;
  const { base, ext } = splitName(name);
  const tail = `${` (${n})`}${ext ? `.${ext}` : ''}`;
  return truncateUtf8(base, Math.max(1, maxBytes - enc.encode(tail).byteLength)) + tail;
}
