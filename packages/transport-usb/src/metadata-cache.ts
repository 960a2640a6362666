/**
 * What the scan learned from each file's metadata (capture date, Live Photo identifier, warning),
 * kept per phone in the plugin's storage folder and keyed by path + size + mtime, so a rerun does
 * not read metadata over USB again for files it has seen.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaptureDate } from '@keepsake/core';

export interface FileFacts {
  /** Date from the file's own metadata (never the mtime/filename fallback). */
  date?: CaptureDate;
  contentIdentifier?: string;
  warning?: string;
}

interface Entry {
  size: number;
  mtimeMs: number;
  facts: FileFacts;
}

// bumped when @keepsake/media reads more (2: PNG eXIf/XMP, TIFF/DNG directories past the first MiB,
// OffsetTime fallbacks, moov/udta/meta keys): facts cached by an older reader are read again
const VERSION = 2;

export class MetadataCache {
  private dirty = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** Loads the cache (an unreadable or foreign file just starts empty). `dir` undefined = memory only. */
  static async open(dir: string | undefined, udid: string): Promise<MetadataCache> {
    if (!dir) return new MetadataCache(undefined, new Map());
    const file = join(dir, `iphone-metadata-${udid.replace(/[^A-Za-z0-9-]/g, '_')}.json`);
    const entries = new Map<string, Entry>();
    try {
      const data = JSON.parse(await readFile(file, 'utf8')) as { version?: number; entries?: Record<string, Entry> };
      if (data.version === VERSION && data.entries && typeof data.entries === 'object') {
        for (const [path, e] of Object.entries(data.entries)) {
          if (typeof e?.size === 'number' && typeof e.mtimeMs === 'number' && typeof e.facts === 'object' && e.facts) entries.set(path, e);
        }
      }
    } catch {
      // First run, or a damaged cache: metadata is read again.
    }
    return new MetadataCache(file, entries);
  }

  get(path: string, size: number, mtimeMs: number): FileFacts | undefined {
    const e = this.entries.get(path);
    return e && e.size === size && e.mtimeMs === mtimeMs ? e.facts : undefined;
  }

  set(path: string, size: number, mtimeMs: number, facts: FileFacts): void {
    this.entries.set(path, { size, mtimeMs, facts });
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    await mkdir(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify({ version: VERSION, entries: Object.fromEntries(this.entries) }));
    await rename(tmp, this.file);
    this.dirty = false;
  }
}
