import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaptureDate } from '@keepsake/core';

/** What the scan learns from one file's metadata, without the name/mtime fallbacks. */
export interface FileFacts {
  /** Capture date from the file's own metadata (EXIF/XMP/QuickTime), if any. */
  date?: CaptureDate;
  contentIdentifier?: string;
  /** Why metadata could not be read (damaged file, I/O error). */
  warning?: string;
}

interface Entry extends FileFacts {
  size: number;
  mtimeMs: number;
}

// bumped when @keepsake/media reads more (2: PNG eXIf/XMP, TIFF/DNG directories past the first MiB,
// OffsetTime fallbacks, moov/udta/meta keys): facts cached by an older reader are read again
const VERSION = 2;

/**
 * Metadata per relative path, valid while size and mtime are unchanged, kept in the plugin's
 * storage folder. A rerun over an unchanged folder then opens no file at all: the ledger's hash
 * cache covers the bytes, this covers the metadata.
 */
export class MetadataCache {
  private previous = new Map<string, Entry>();
  private readonly current = new Map<string, Entry>();
  private dirty = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly root: string,
  ) {}

  static async open(storageDir: string | undefined, root: string): Promise<MetadataCache> {
    if (!storageDir) return new MetadataCache(undefined, root);
    const name = `folder-metadata-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`;
    const cache = new MetadataCache(join(storageDir, name), root);
    try {
      const data = JSON.parse(await readFile(cache.file!, 'utf8')) as { version: number; root: string; entries: Record<string, Entry> };
      if (data.version === VERSION && data.root === root) cache.previous = new Map(Object.entries(data.entries));
    } catch {
      // No cache yet, or an unreadable one: start empty (it is only a cache).
    }
    return cache;
  }

  get(path: string, size: number, mtimeMs: number): FileFacts | undefined {
    const e = this.previous.get(path);
    if (!e || e.size !== size || e.mtimeMs !== mtimeMs) return undefined;
    this.current.set(path, e);
    return e;
  }

  set(path: string, size: number, mtimeMs: number, facts: FileFacts): void {
    this.current.set(path, { size, mtimeMs, ...facts });
    this.dirty = true;
  }

  /** Writes the cache (atomically). After a complete scan, entries of vanished files are dropped. */
  async save(complete: boolean): Promise<void> {
    if (!this.file) return;
    if (complete && !this.dirty && this.current.size === this.previous.size) return;
    const entries = complete ? this.current : new Map([...this.previous, ...this.current]);
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(join(this.file, '..'), { recursive: true });
      await writeFile(tmp, JSON.stringify({ version: VERSION, root: this.root, entries: Object.fromEntries(entries) }));
      await rename(tmp, this.file);
    } catch {
      await rm(tmp, { force: true }).catch(() => {});
    }
  }
}
