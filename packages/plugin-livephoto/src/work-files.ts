import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
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
 * read never turns into a shorter video. Each job spools to its own file (named after `job`) and
 * removes it when done, so temp space holds outputs, not copies of inputs.
 */
export async function spoolToFile(resource: Resource, dir: string, job: readonly string[], signal: AbortSignal): Promise<string> {
  const ext = splitName(resource.name).ext.toLowerCase() || 'bin';
  const path = join(dir, workFileName(['spool', ...job], ext));
  const { bytes } = await writeStreamAtomic(path, resource.open({ signal }), { signal, durable: false, noClobber: false });
  if (resource.size !== undefined && bytes !== resource.size) {
    await rm(path, { force: true });
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
 * next attempt retries the work. Keys start with the run's temp folder.
 */
export class RunCache {
  readonly #jobs = new Map<string, Promise<string>>();

  get(key: readonly string[], produce: () => Promise<string>): Promise<string> {
    const k = key.join('\0');
    let job = this.#jobs.get(k);
    if (!job) {
      job = produce();
      this.#jobs.set(k, job);
      job.catch(() => {
        if (this.#jobs.get(k) === job) this.#jobs.delete(k);
      });
    }
    return job;
  }

  /** Forgets the work of the run that used `tempDir` (its files go with the folder). */
  forgetRun(tempDir: string): void {
    for (const k of this.#jobs.keys()) if (k.startsWith(`${tempDir}\0`)) this.#jobs.delete(k);
  }
}

/**
 * One cache for every transform instance in the process: two sinks with mov-to-mp4, or
 * mov-to-mp4 and live-to-motion-photo on the same MOV, share one ffmpeg run and one work file
 * instead of racing on the same path.
 */
export const sharedRunCache = new RunCache();

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
