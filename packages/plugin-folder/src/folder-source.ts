import { rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import {
  type Asset,
  type Diagnostic,
  isImageType,
  isKeepsakeError,
  isVideoType,
  KeepsakeError,
  type Logger,
  mediaTypeOf,
  type Resource,
  type ScanContext,
  type Source,
  type SourceCapabilities,
  splitName,
  throwIfAborted,
} from '@keepsake/core';
import { type CameraRollGroup, captureDateFrom, groupCameraRoll, livePhotoCaptureDate, MEDIA_MALFORMED, type MediaInfo, readMediaInfo, withFile } from '@keepsake/media';
import { openFile } from './file-resource.js';
import { pathFilter } from './glob.js';
import { type FileFacts, MetadataCache } from './metadata-cache.js';
import { sourceChanged, sourceReadError } from './source-errors.js';
import { type WalkedFile, walkFolders } from './walk.js';

/** Assets whose metadata is read ahead of the one being yielded. */
const METADATA_LOOKAHEAD = 8;

export interface FolderSourceOptions {
  /** Absolute folder path. */
  root: string;
  /** Plugin storage folder for the metadata cache (reruns then open no files). */
  storageDir?: string;
  recursive: boolean;
  include?: string[];
  exclude?: string[];
  logger: Logger;
}

/** Reads a folder tree as assets: DCIM grouping, capture dates and ContentIdentifiers from metadata. */
export class FolderSource implements Source {
  readonly key: string;
  readonly capabilities: SourceCapabilities = { expensiveReads: false, canDelete: true };

  constructor(private readonly o: FolderSourceOptions) {
    this.key = `folder:${o.root}`;
  }

  async *scan(ctx: ScanContext): AsyncIterable<Asset> {
    const filter = pathFilter(this.o.include, this.o.exclude);
    const walk = walkFolders(this.o.root, {
      recursive: this.o.recursive,
      filter,
      signal: ctx.signal,
      onSkip: (path, err) => ctx.logger.warn(`Skipped ${path}: ${sourceReadError(err, join(this.o.root, path)).message}`, { path }),
    });
    const cache = await MetadataCache.open(this.o.storageDir, this.o.root);
    let complete = false;
    try {
      for await (const { files } of walk) {
        const usedIds = new Set<string>();
        const groups = groupCameraRoll(files);
        // Read metadata a few assets ahead (small random reads overlap on cards and shares); the
        // synchronous part of toAsset (ids) still runs in order, so results are deterministic.
        const ahead: Promise<Asset>[] = [];
        let next = 0;
        const refill = () => {
          while (next < groups.length && ahead.length < METADATA_LOOKAHEAD) {
            const p = this.toAsset(groups[next++]!, usedIds, cache);
            p.catch(() => {}); // awaited below; never an unhandled rejection if the consumer stops early
            ahead.push(p);
          }
        };
        refill();
        while (ahead.length > 0) {
          throwIfAborted(ctx.signal);
          const asset = await ahead.shift()!;
          refill();
          yield asset;
        }
      }
      complete = true;
    } finally {
      await cache.save(complete);
    }
  }

  private async toAsset(group: CameraRollGroup<WalkedFile>, usedIds: Set<string>, cache: MetadataCache): Promise<Asset> {
    const diagnostics: Diagnostic[] = [...group.diagnostics];
    const resources: Resource[] = group.members.map(({ file, role }) => {
      if (file.size === 0) diagnostics.push({ level: 'warning', source: 'folder:empty-file', message: `${file.path} is empty (0 bytes); it is copied as it is` });
      return {
        role,
        name: file.name,
        key: file.path,
        size: file.size,
        mtimeMs: file.mtimeMs,
        mediaType: mediaTypeOf(file.name),
        open: openFile(file.absolutePath, file.path, file.size, file.mtimeMs),
      };
    });
    const primary = group.members[0]!.file;
    // Ids are the primary's path without extension; two files differing only by case keep theirs.
    let id = splitName(primary.path).base;
    if (usedIds.has(id)) id = primary.path;
    usedIds.add(id);

    const facts = await this.facts(primary, cache, diagnostics);
    let capturedAt = facts.date ?? captureDateFrom(undefined, { name: primary.name, mtimeMs: primary.mtimeMs });
    const motion = group.members.find((m) => m.role === 'motion')?.file;
    if (motion && !facts.date?.offset) {
      // Same capture: the video supplies a missing date or a missing UTC offset.
      capturedAt = livePhotoCaptureDate(capturedAt, (await this.facts(motion, cache, diagnostics)).date);
    }
    const asset: Asset = { id, kind: group.kind, resources };
    if (capturedAt) asset.capturedAt = capturedAt;
    if (facts.contentIdentifier) asset.contentIdentifier = facts.contentIdentifier;
    if (diagnostics.length > 0) asset.diagnostics = diagnostics;
    return asset;
  }

  /** Date and ContentIdentifier of an image or video, from the cache when the file is unchanged. */
  private async facts(file: WalkedFile, cache: MetadataCache, diagnostics: Diagnostic[]): Promise<FileFacts> {
    const type = mediaTypeOf(file.name);
    if (file.size === 0 || !(isImageType(type) || isVideoType(type))) return {};
    let facts = cache.get(file.path, file.size, file.mtimeMs);
    if (!facts) {
      facts = await readFacts(file);
      cache.set(file.path, file.size, file.mtimeMs, facts);
    }
    if (facts.warning) diagnostics.push({ level: 'warning', source: 'folder:metadata', message: facts.warning });
    return facts;
  }

  /**
   * Removes the asset's files (prune). Each file must still be the one scanned (same size and
   * mtime); a changed file is kept and reported, never deleted.
   */
  async delete(asset: Asset, ctx: { signal: AbortSignal; logger: Logger }): Promise<void> {
    const targets = asset.resources.map((r) => {
      const path = resolve(this.o.root, ...r.key.split('/'));
      if (!path.startsWith(this.o.root + sep)) {
        throw new KeepsakeError('NAME_UNSAFE', `Resource key ${r.key} points outside ${this.o.root}`, { stage: 'delete', assetId: asset.id });
      }
      return { r, path };
    });
    for (const { r, path } of targets) {
      throwIfAborted(ctx.signal);
      const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw sourceReadError(err, path, r.key);
      });
      if (!st) continue; // already gone
      if (st.size !== r.size || (r.mtimeMs !== undefined && Math.abs(st.mtimeMs - r.mtimeMs) > 1)) {
        throw sourceChanged(path, 'size or modification time differs from the copy that was verified; not deleting it', r.key);
      }
    }
    for (const { path } of targets) {
      await rm(path, { force: true });
      ctx.logger.debug('Deleted', { path });
    }
  }
}

/** Reads metadata once; damaged files become a warning, never a failed scan. */
async function readFacts(file: WalkedFile): Promise<FileFacts> {
  let info: MediaInfo;
  try {
    info = await withFile(file.absolutePath, readMediaInfo);
  } catch (err) {
    const why = isKeepsakeError(err) && err.code === MEDIA_MALFORMED ? (err as Error).message : sourceReadError(err, file.absolutePath).message;
    return { warning: `${file.path}: ${why}; the file is copied as it is` };
  }
  const facts: FileFacts = {};
  if (info.damage) facts.warning = `${file.path}: metadata partly damaged (${info.damage}); the readable part was used and the file is copied as it is`;
  const date = captureDateFrom(info, { name: '' });
  if (date) facts.date = date;
  if (info.contentIdentifier) facts.contentIdentifier = info.contentIdentifier;
  return facts;
}
