import { createDecipheriv } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { abortError, KeepsakeError } from '@keepsake/core';
import { backupError } from './errors.js';

const BLOCK = 16;
/** Read size: large enough that per-chunk overhead vanishes next to AES, small enough to stay off the heap's radar. */
const CHUNK = 1024 * 1024;

export interface ContentStreamOptions {
  /** Content file inside the backup. */
  path: string;
  /** Plaintext size (checked against Manifest.db's Size and the padding); output stops there (CBC padding is dropped). */
  size: number;
  /** 32-byte AES-256 file key for encrypted backups; absent for plain ones. */
  key?: Uint8Array;
  /** Plaintext offset to start at (resume). */
  offset?: number;
  signal?: AbortSignal;
  /** Names the item in errors. */
  label: string;
}

/**
 * Streams a backup content file's plaintext. Encrypted files are AES-256-CBC with a zero IV;
 * decryption is chunked (the CBC state carries over between chunks), nothing is buffered whole.
 * A resumed read starts at the block holding `offset`, using the previous ciphertext block as the
 * IV — CBC allows that without decrypting what comes before. Output is trimmed to `size`; a file
 * that ends before `size` bytes is an error (BACKUP_FILE_CORRUPT), never a short success.
 */
export async function* openContent(options: ContentStreamOptions): AsyncGenerator<Uint8Array> {
  const { path, size, key, signal, label } = options;
  const offset = options.offset ?? 0;
  if (offset < 0 || offset > size) throw new RangeError(`offset ${offset} outside 0..${size}`);
  if (offset === size) return;
  if (signal?.aborted) throw abortError(signal.reason);

  let remaining = size - offset;
  const truncated = (got: number) =>
    backupError('BACKUP_FILE_CORRUPT', `Backup file for ${label} ends after ${got} of ${size} bytes`, {
      location: path,
      resource: label,
      hint: 'The backup is incomplete or damaged; make a new backup to recover this item.',
    });

  if (!key) {
    const stream = createReadStream(path, { start: offset, end: size - 1, highWaterMark: CHUNK, signal });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        remaining -= chunk.byteLength;
        yield chunk;
      }
    } catch (err) {
      throw mapReadError(err, path, label, signal);
    }
    if (remaining !== 0) throw truncated(size - remaining);
    return;
  }

  const firstBlock = Math.floor(offset / BLOCK);
  let iv: Uint8Array = new Uint8Array(BLOCK);
  if (firstBlock > 0) {
    // The previous ciphertext block is the IV for the block we start at.
    const prev = await readExactly(path, (firstBlock - 1) * BLOCK, BLOCK, signal).catch((err) => {
      throw mapReadError(err, path, label, signal);
    });
    if (prev.byteLength !== BLOCK) throw truncated(0);
    iv = prev;
  }
  const decipher = createDecipheriv('aes-256-cbc', key, iv);
  decipher.setAutoPadding(false);
  let skip = offset - firstBlock * BLOCK;
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw mapReadError(err, path, label, signal);
  }
  // Two ciphertext buffers, reused: the next read runs while this chunk is decrypted and consumed.
  // Reuse is safe because what is yielded is the decipher's own fresh output, never these buffers.
  const buffers: Buffer[] = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let which = 0;
  let position = firstBlock * BLOCK;
  let pending: Promise<{ bytesRead: number }> | undefined = fh.read(buffers[0] as Buffer, 0, CHUNK, position);
  try {
    while (remaining > 0) {
      const { bytesRead } = await (pending as Promise<{ bytesRead: number }>);
      pending = undefined;
      if (signal?.aborted) throw abortError(signal.reason);
      if (bytesRead === 0) break;
      const cipher = (buffers[which] as Buffer).subarray(0, bytesRead);
      position += bytesRead;
      which ^= 1;
      pending = fh.read(buffers[which] as Buffer, 0, CHUNK, position);
      let plain = decipher.update(cipher);
      if (skip > 0) {
        const n = Math.min(skip, plain.byteLength);
        plain = plain.subarray(n);
        skip -= n;
      }
      if (plain.byteLength > remaining) plain = plain.subarray(0, remaining);
      remaining -= plain.byteLength;
      if (plain.byteLength > 0) yield plain;
    }
  } catch (err) {
    throw mapReadError(err, path, label, signal);
  } finally {
    await pending?.catch(() => {});
    await fh.close();
  }
  if (remaining !== 0) throw truncated(size - remaining);
}

/**
 * Plaintext length of an encrypted content file from its PKCS#7 padding: the last ciphertext block
 * is decrypted (with the block before it as IV) and its last byte n (1..16, repeated n times) is
 * the pad. Returns `undefined` when the padding is not well-formed (damaged or truncated file).
 * A damaged last block still passes about one time in 256 (random bytes ending in 0x01); the
 * caller cross-checks the result against Manifest.db's Size where it can.
 */
export async function paddedPlaintextLength(path: string, cipherSize: number, key: Uint8Array): Promise<number | undefined> {
  if (cipherSize < BLOCK || cipherSize % BLOCK !== 0) return undefined;
  const start = cipherSize - 2 * BLOCK;
  const tail = await readExactly(path, Math.max(0, start), start < 0 ? BLOCK : 2 * BLOCK);
  if (tail.byteLength !== (start < 0 ? BLOCK : 2 * BLOCK)) return undefined;
  const iv = start < 0 ? new Uint8Array(BLOCK) : tail.subarray(0, BLOCK);
  const d = createDecipheriv('aes-256-cbc', key, iv);
  d.setAutoPadding(false);
  const last = d.update(tail.subarray(tail.byteLength - BLOCK));
  const n = last[BLOCK - 1] as number;
  if (n < 1 || n > BLOCK || !last.subarray(BLOCK - n).every((b) => b === n)) return undefined;
  return cipherSize - n;
}

async function readExactly(path: string, position: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of createReadStream(path, { start: position, end: position + length - 1, signal }) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function mapReadError(err: unknown, path: string, label: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return abortError(signal.reason);
  if (err instanceof KeepsakeError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return backupError('BACKUP_FILE_MISSING', `Backup has no content file for ${label}`, {
      location: path,
      resource: label,
      cause: err,
      hint: 'The backup is incomplete (interrupted, or copied partly). Make a new backup to recover this item.',
    });
  }
  return new KeepsakeError('SOURCE_READ_FAILED', `Could not read ${label} from the backup: ${(err as Error).message}`, {
    location: path,
    resource: label,
    cause: err,
    classification: 'retryable',
  });
}
