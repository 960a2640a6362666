import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { HashName } from './capabilities.js';
import { abortError } from './errors.js';
import { createHasher } from './hash.js';

/** Prefix of in-progress files; sinks and `verify` ignore names that start with it. */
export const TEMP_PREFIX = '.keepsake-partial-';

export interface AtomicWriteOptions {
  /** Hashes to compute while writing (sha256 always included). */
  hashes?: readonly HashName[];
  /** Set the file's mtime (ms) before it becomes visible. */
  mtimeMs?: number;
  signal?: AbortSignal;
  onProgress?(bytes: number): void;
  /** Refuse to replace an existing file (default true): the rename fails instead. */
  noClobber?: boolean;
  /** fsync file and folder (default true). */
  durable?: boolean;
}

export interface AtomicWriteResult {
  bytes: number;
  hashes: { sha256: string } & Record<string, string>;
}

/**
 * Streams bytes into `dest` atomically: a hidden temp file in the same folder, hashed as written,
 * fsynced, then renamed into place (no-clobber by default: an existing file is never replaced). On
 * error or abort the temp file is removed, so no partial file is ever visible at `dest`.
 */
export async function writeStreamAtomic(
  dest: string,
  source: AsyncIterable<Uint8Array>,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const names = Array.from(new Set<HashName>(['sha256', ...(options.hashes ?? [])]));
  const hashers = names.map((n) => [n, createHasher(n)] as const);
  const tmp = join(dirname(dest), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${basename(dest).slice(0, 40)}`);
  const fh = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
  let bytes = 0;
  let closed = false;
  try {
    for await (const chunk of source) {
      if (options.signal?.aborted) throw abortError(options.signal.reason);
      for (const [, h] of hashers) h.update(chunk);
      let off = 0;
      while (off < chunk.byteLength) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
        off += bytesWritten;
      }
      bytes += chunk.byteLength;
      options.onProgress?.(chunk.byteLength);
    }
    if (options.signal?.aborted) throw abortError(options.signal.reason);
    if (options.durable !== false) await fh.sync();
    await fh.close();
    closed = true;
    if (options.mtimeMs !== undefined) {
      const t = new Date(options.mtimeMs);
      await utimes(tmp, t, t);
    }
    await commitRename(tmp, dest, options.noClobber !== false);
    if (options.durable !== false) await syncDir(dirname(dest));
  } catch (err) {
    if (!closed) await fh.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  return { bytes, hashes: Object.fromEntries(hashers.map(([n, h]) => [n, h.digest()])) as AtomicWriteResult['hashes'] };
}

/**
 * Renames without replacing an existing file. POSIX rename replaces silently, so no-clobber uses
 * link()+unlink() (fails with EEXIST); filesystems without hard links (FAT/exFAT SD cards, some
 * SMB shares) fall back to an existence check right before rename.
 */
async function commitRename(tmp: string, dest: string, noClobber: boolean): Promise<void> {
  if (!noClobber) return rename(tmp, dest);
  const { link, unlink, stat } = await import('node:fs/promises');
  try {
    await link(tmp, dest);
    await unlink(tmp);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw err;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV' && code !== 'EMLINK') throw err;
  }
  const exists = await stat(dest).then(
    () => true,
    () => false,
  );
  if (exists) throw Object.assign(new Error(`EEXIST: file already exists, rename '${tmp}' -> '${dest}'`), { code: 'EEXIST' });
  await rename(tmp, dest);
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync on Windows
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // some filesystems (network mounts) refuse fsync on directories; the file itself was synced
  } finally {
    await fh.close();
  }
}

/** Reads a file and returns the requested hashes (sha256 by default), for read-back verification. */
export async function hashFile(path: string, names: readonly HashName[] = ['sha256'], signal?: AbortSignal): Promise<{ bytes: number; hashes: Record<string, string> }> {
  const hashers = names.map((n) => [n, createHasher(n)] as const);
  const fh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal.reason);
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, null);
      if (bytesRead === 0) break;
      const view = buf.subarray(0, bytesRead);
      for (const [, h] of hashers) h.update(view);
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { bytes, hashes: Object.fromEntries(hashers.map(([n, h]) => [n, h.digest()])) };
}

/** Streams a local file from `offset` in 1 MiB chunks (a `Resource.open` for files). */
export async function* readFileStream(path: string, options: { offset?: number; signal?: AbortSignal; chunkSize?: number } = {}): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  let pos = options.offset ?? 0;
  const size = options.chunkSize ?? 1 << 20;
  try {
    for (;;) {
      if (options.signal?.aborted) throw abortError(options.signal.reason);
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read(buf, 0, size, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield bytesRead === size ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
