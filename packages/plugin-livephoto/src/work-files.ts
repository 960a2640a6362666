import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KeepsakeError, type Resource, readFileStream, splitName, writeStreamAtomic } from '@keepsake/core';

/** A stable, file-system-safe name for a work file derived from some keys (never the raw key). */
export function workFileName(parts: readonly string[], ext: string): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return `${h.digest('hex').slice(0, 32)}.${ext}`;
}

/** `<tempDir>/livephoto`, created on first use. */
export async function workDir(tempDir: string): Promise<string> {
  const dir = join(tempDir, 'livephoto');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Streams a resource into a local file (ffmpeg needs a seekable input: a MOV's `moov` box usually
 * sits after `mdat`). Checks the byte count against the resource's declared size so a truncated
 * read never turns into a shorter video.
 */
export async function spoolToFile(resource: Resource, dir: string, signal: AbortSignal): Promise<string> {
  const ext = splitName(resource.name).ext.toLowerCase() || 'bin';
  const path = join(dir, workFileName(['spool', resource.key, String(resource.size), String(resource.mtimeMs)], ext));
  const existing = await stat(path).catch(() => undefined);
  if (existing && resource.size !== undefined && existing.size === resource.size) return path;
  const { bytes } = await writeStreamAtomic(path, resource.open({ signal }), { signal, durable: false, noClobber: false });
  if (resource.size !== undefined && bytes !== resource.size) {
    throw new KeepsakeError('SOURCE_ITEM_TRUNCATED', `${resource.name}: read ${bytes} bytes, expected ${resource.size}`, {
      resource: resource.name,
      hint: 'The source changed or the connection dropped while reading; run again.',
      classification: 'retryable',
    });
  }
  return path;
}

/**
 * Memoises work per run: the first `open()` of a derived resource produces its file, later opens
 * (retries, a second sink, a resumed upload) stream the same file. A failure is forgotten so the
 * next attempt retries the work.
 */
export class RunCache {
  readonly #jobs = new Map<string, Promise<string>>();

  get(key: string, produce: () => Promise<string>): Promise<string> {
    let job = this.#jobs.get(key);
    if (!job) {
      job = produce();
      this.#jobs.set(key, job);
      job.catch(() => {
        if (this.#jobs.get(key) === job) this.#jobs.delete(key);
      });
    }
    return job;
  }

  clear(): void {
    this.#jobs.clear();
  }
}

/** A lazy resource whose bytes are a file produced on first `open()`. */
export function fileBackedResource(spec: Omit<Resource, 'open' | 'size'>, produce: () => Promise<string>): Resource {
  return {
    ...spec,
    size: undefined,
    open: (options = {}) =>
      (async function* () {
        const path = await produce();
        yield* readFileStream(path, options);
      })(),
  };
}
