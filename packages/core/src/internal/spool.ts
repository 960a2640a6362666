import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { Resource } from '../asset.js';
import { abortError, KeepsakeError } from '../errors.js';
import { readFileStream } from '../fs-atomic.js';

/**
 * Reads a resource once, hashing it; when `spoolDir` is given the bytes are also written to a
 * temp file and the returned resource reads from there, so an expensive source (USB) is read once
 * however many sinks there are.
 */
export async function hashResource(
  r: Resource,
  opts: { signal: AbortSignal; spoolDir?: string; onBytes?: (n: number) => void },
): Promise<{ sha256: string; size: number; spooled?: Resource; cleanup?: () => Promise<void> }> {
  const h = createHash('sha256');
  let size = 0;
  const file = opts.spoolDir ? join(opts.spoolDir, `spool-${randomBytes(8).toString('hex')}`) : undefined;
  const fh = file ? await open(file, 'w') : undefined;
  try {
    // each chunk is hashed and written before the next is asked for
    for await (const chunk of r.open({ signal: opts.signal, reuseChunks: true })) {
      if (opts.signal.aborted) throw abortError(opts.signal.reason);
      h.update(chunk);
      size += chunk.byteLength;
      if (fh) {
        let off = 0;
        while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
      }
      opts.onBytes?.(chunk.byteLength);
    }
  } catch (err) {
    await fh?.close().catch(() => {});
    if (file) await rm(file, { force: true });
    throw err;
  }
  await fh?.close();
  if (r.size !== undefined && size !== r.size) {
    if (file) await rm(file, { force: true });
    throw new KeepsakeError(
      size < r.size ? 'SOURCE_ITEM_TRUNCATED' : 'SOURCE_ITEM_CHANGED',
      `${r.name}: read ${size} bytes but the source reported ${r.size}`,
      { stage: 'hash', resource: r.key, hint: 'The file changed or was cut short while reading; run again to retry it.' },
    );
  }
  const sha256 = h.digest('hex');
  if (!file) return { sha256, size };
  const spooled: Resource = { ...r, sha256, open: (o = {}) => readFileStream(file, o) };
  return { sha256, size, spooled, cleanup: () => rm(file, { force: true }) };
}
