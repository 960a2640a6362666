import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted } from '@keepsake/core';
import { isJunkName } from '@keepsake/media';
import type { PathFilter } from './glob.js';

const STAT_CONCURRENCY = 16;

/** Maps with at most `limit` calls in flight, keeping the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface WalkedFile {
  /** Path relative to the root, `/`-separated. */
  path: string;
  name: string;
  absolutePath: string;
  size: number;
  mtimeMs: number;
}

export interface WalkOptions {
  recursive: boolean;
  filter: PathFilter;
  signal?: AbortSignal;
  /** A folder or file that could not be read; the walk goes on. */
  onSkip?(path: string, err: unknown): void;
}

/**
 * Yields the files of one folder at a time (sorted by name), depth-first, so a camera roll of
 * 100k files is never held in memory at once, and grouping (which works per folder) sees whole
 * folders. Each file is stat'ed exactly once. Symlinked folders are not followed (no loops).
 */
export async function* walkFolders(root: string, o: WalkOptions): AsyncGenerator<{ folder: string; files: WalkedFile[] }> {
  const pending: string[] = [''];
  while (pending.length > 0) {
    throwIfAborted(o.signal);
    const rel = pending.pop()!;
    const abs = rel ? join(root, rel) : root;
    let entries: Dirent[];
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      o.onSkip?.(rel || '.', err);
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subfolders: string[] = [];
    const candidates: { path: string; name: string; absolutePath: string }[] = [];
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (o.recursive && !isJunkName(e.name) && o.filter.folder(path)) subfolders.push(path);
        continue;
      }
      if (!(e.isFile() || e.isSymbolicLink()) || isJunkName(e.name) || !o.filter.file(path)) continue;
      candidates.push({ path, name: e.name, absolutePath: join(abs, e.name) });
    }
    // Several stats in flight: on a network share or a card reader each one is a round trip.
    const stats = await mapLimit(candidates, STAT_CONCURRENCY, async (c) => {
      try {
        const st = await stat(c.absolutePath);
        return st.isFile() ? { ...c, size: st.size, mtimeMs: st.mtimeMs } : undefined;
      } catch (err) {
        o.onSkip?.(c.path, err);
        return undefined;
      }
    });
    const files = stats.filter((f): f is WalkedFile => f !== undefined);
    // Depth-first in name order: push in reverse so the first subfolder is walked next.
    for (let i = subfolders.length - 1; i >= 0; i--) pending.push(subfolders[i]!);
    if (files.length > 0) yield { folder: rel, files };
  }
}
