import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { HashName } from './capabilities.js';
import { abortError } from './errors.js';
import { createHasher } from './hash.js';
import { releaseBuffer, takeBuffer } from './internal/buffer-pool.js';
import { syncDir } from './internal/dir-sync.js';

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
  /**
   * Checks the file once it is under its final name (a read-back), while the folder fsync that
   * makes the rename durable runs. If it throws, the file is removed again and the error
   * rethrown; the write resolves only after both are done.
   */
  verify?(path: string, written: AtomicWriteResult): Promise<void>;
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
  let renamed = false;
  let digests: AtomicWriteResult['hashes'] | undefined;
  const result = (): AtomicWriteResult => {
    digests ??= Object.fromEntries(hashers.map(([n, h]) => [n, h.digest()])) as AtomicWriteResult['hashes'];
    return { bytes, hashes: digests };
  };
  try {
    for await (const chunk of source) {
      if (options.signal?.aborted) throw abortError(options.signal.reason);
      // the write runs on libuv's pool while this thread hashes the same (read-only) bytes
      const writing = writeAll(fh, chunk, bytes);
      writing.catch(() => {}); // awaited just below; a hasher throwing first must not leave it unhandled
      for (const [, h] of hashers) h.update(chunk);
      await writing;
      bytes += chunk.byteLength;
      options.onProgress?.(chunk.byteLength);
    }
    if (options.signal?.aborted) throw abortError(options.signal.reason);
    if (options.mtimeMs !== undefined) {
      // before the fsync, so the capture date is as durable as the bytes
      const t = new Date(options.mtimeMs);
      await fh.utimes(t, t);
    }
    if (options.durable !== false) await fh.sync();
    await fh.close();
    closed = true;
    await commitRename(tmp, dest, options.noClobber !== false);
    renamed = true;
    const syncing = options.durable !== false ? syncDir(dirname(dest)) : Promise.resolve();
    const checking = options.verify ? options.verify(dest, result()) : Promise.resolve();
    const [synced, checked] = await Promise.allSettled([syncing, checking]);
    if (checked.status === 'rejected') throw checked.reason;
    if (synced.status === 'rejected') throw synced.reason;
  } catch (err) {
    if (renamed) {
      // ours since the no-clobber rename succeeded: unverified bytes never stay under the name
      await rm(dest, { force: true }).catch(() => {});
      throw err;
    }
    if (!closed) await fh.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  return result();
}

/**
 * Renames without replacing an existing file. POSIX rename replaces silently, so no-clobber uses
 * link()+unlink() (fails with EEXIST); filesystems without hard links (FAT/exFAT SD cards, some
 * SMB shares) fall back to an existence check right before rename.
 */
async function commitRename(tmp: string, dest: string, noClobber: boolean): Promise<void> {
  if (!noClobber) return rename(tmp, dest);
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

async function writeAll(fh: FileHandle, chunk: Uint8Array, at: number): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off, at + off)).bytesWritten;
}

/** Reads a file and returns the requested hashes (sha256 by default), for read-back verification. */
export async function hashFile(path: string, names: readonly HashName[] = ['sha256'], signal?: AbortSignal): Promise<{ bytes: number; hashes: Record<string, string> }> {
  const hashers = names.map((n) => [n, createHasher(n)] as const);
  let bytes = 0;
  for await (const chunk of readFileStream(path, { reuseChunks: true, ...(signal ? { signal } : {}) })) {
    for (const [, h] of hashers) h.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, hashes: Object.fromEntries(hashers.map(([n, h]) => [n, h.digest()])) };
}

export interface ReadFileStreamOptions {
  offset?: number;
  signal?: AbortSignal;
  /** Bytes per chunk (default 1 MiB). */
  chunkSize?: number;
  /**
   * The consumer is done with a chunk when it asks for the next one (see `OpenOptions`): chunks
   * then come from two pooled buffers, and the next chunk is read while the consumer works on
   * the current one.
   */
  reuseChunks?: boolean;
}

/** Streams a local file from `offset` in 1 MiB chunks (a `Resource.open` for files). */
export async function* readFileStream(path: string, options: ReadFileStreamOptions = {}): AsyncGenerator<Uint8Array> {
  let pos = options.offset ?? 0;
  const size = options.chunkSize ?? 1 << 20;
  if (options.reuseChunks) {
    yield* readAhead(path, pos, size, options);
    return;
  }
  const fh = await open(path, 'r');
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

/**
 * Reads ahead into two pooled buffers: while the consumer has one chunk, the next is being read.
 * A fresh buffer per chunk would cost a page fault per 4 KiB and GC work for every megabyte.
 */
async function* readAhead(path: string, start: number, size: number, o: ReadFileStreamOptions): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  const bufs = [takeBuffer(size), takeBuffer(size)];
  const queue: { buf: Buffer; done: Promise<number> }[] = [];
  let next = start; // where the next read goes
  let pos = start; // the first byte not yet handed out
  const issue = (buf: Buffer) => {
    const done = fh.read(buf, 0, size, next).then((r) => r.bytesRead);
    done.catch(() => {}); // awaited below or in finally; never an unhandled rejection
    queue.push({ buf, done });
    next += size;
  };
  for (const b of bufs) issue(b);
  let held: Buffer | undefined;
  try {
    for (;;) {
      if (o.signal?.aborted) throw abortError(o.signal.reason);
      // the consumer asked for more, so it is done with the chunk it had: read the next one into it
      if (held) issue(held);
      held = undefined;
      const e = queue.shift()!;
      const bytesRead = await e.done;
      if (bytesRead === 0) return;
      pos += bytesRead;
      if (bytesRead < size) {
        // a short read (usually the end): the reads queued after it assumed a full chunk
        const dropped = queue.splice(0);
        for (const d of dropped) await d.done.catch(() => 0);
        next = pos;
        for (const d of dropped) issue(d.buf);
      }
      held = e.buf;
      yield bytesRead === size ? e.buf : e.buf.subarray(0, bytesRead);
    }
  } finally {
    // no read may still be filling a buffer when it goes back to the pool or the file closes
    for (const q of queue) await q.done.catch(() => 0);
    for (const b of bufs) releaseBuffer(b);
    await fh.close();
  }
}
