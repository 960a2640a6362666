/**
 * The `iphone` source: the camera roll under /DCIM read over AFC, grouped into captures (Live
 * Photo pairs, IMG_E edits, AAE sidecars) with capture dates from the files' own metadata.
 * Read-only: deleting over AFC leaves the Photos library stale (product-facts §1), so no `delete`.
 */
import {
  type Asset,
  type Diagnostic,
  isImageType,
  isKeepsakeError,
  isVideoType,
  KeepsakeError,
  type Logger,
  mediaTypeOf,
  type OpenOptions,
  type Resource,
  type ScanContext,
  type Source,
  type SourceCapabilities,
  splitName,
  throwIfAborted,
} from '@keepsake/core';
import { type CameraRollFile, type CameraRollGroup, captureDateFrom, groupCameraRoll, MAX_METADATA_READ, MEDIA_MALFORMED, type MediaInfo, type RandomAccess, readMediaInfo } from '@keepsake/media';
import type { AfcClient } from './afc-client.js';
import { AfcConnection, type LinkProvider, usbmuxLinkProvider } from './afc-connection.js';
import { directLinkProvider, type UsbModule } from './usb-direct.js';
import { type FileFacts, MetadataCache } from './metadata-cache.js';
import type { SessionOptions } from './device-session.js';
import { selectDevice } from './device-select.js';
import { UsbmuxClient } from './usbmux-client.js';

export interface IphoneSourceOptions {
  udid?: string;
  name?: string;
  /** How long to wait for "Trust This Computer?" to be answered. */
  trustTimeoutSeconds?: number;
  /** Per-read timeout for every device reply. */
  readTimeoutSeconds?: number;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Folder for the metadata cache (the plugin's storage folder); none = read metadata every scan. */
  storageDir?: string;
  /** `usbmuxd` (default: the system daemon) or `usb` (straight over libusb; needs the `usb` package). */
  transport?: 'usbmuxd' | 'usb';
  /** Stand-in for the `usb` package (tests). */
  usbModule?: UsbModule;
  signal?: AbortSignal;
}

interface PhoneFile extends CameraRollFile {
  /** AFC path (`/DCIM/100APPLE/IMG_0001.HEIC`). */
  afcPath: string;
}

const DCIM = '/DCIM';
const STAT_BATCH = 64;
const METADATA_AHEAD = 8;

const RA_BLOCK = 64 * 1024;
const RA_BLOCKS = 8;

/**
 * Random access for metadata parsers on one AFC file handle. Parsers hop around in small reads;
 * each costs two round trips (seek + read), so reads go through a small cache of 64 KiB blocks —
 * a typical photo's metadata then takes one or two device reads.
 */
async function afcRandomAccess(afc: AfcClient, path: string, size: number): Promise<RandomAccess & { close(): Promise<void> }> {
  const handle = await afc.open(path);
  let position = 0;
  const cache = new Map<number, Uint8Array>();
  const readRange = async (offset: number, length: number): Promise<Uint8Array> => {
    if (offset !== position) await afc.seek(handle, offset);
    position = offset;
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < length) {
      const chunk = await afc.read(handle, length - got);
      if (chunk.length === 0) break;
      parts.push(chunk);
      got += chunk.length;
      position += chunk.length;
    }
    return parts.length === 1 ? (parts[0] as Uint8Array) : new Uint8Array(Buffer.concat(parts));
  };
  const block = async (index: number): Promise<Uint8Array> => {
    const hit = cache.get(index);
    if (hit) return hit;
    const start = index * RA_BLOCK;
    const b = await readRange(start, Math.min(RA_BLOCK, size - start));
    cache.set(index, b);
    if (cache.size > RA_BLOCKS) cache.delete(cache.keys().next().value as number);
    return b;
  };
  return {
    size,
    async read(offset, length) {
      if (length > MAX_METADATA_READ) throw new KeepsakeError('TOO_LARGE', `Refusing a ${length}-byte metadata read of ${path}`);
      const end = Math.min(size, offset + length);
      if (end <= offset) return new Uint8Array(0);
      if (end - offset > 2 * RA_BLOCK) return readRange(offset, end - offset);
      const first = Math.floor(offset / RA_BLOCK);
      const last = Math.floor((end - 1) / RA_BLOCK);
      const out = new Uint8Array(end - offset);
      let filled = 0;
      for (let i = first; i <= last; i++) {
        const b = await block(i);
        const from = Math.max(offset, i * RA_BLOCK) - i * RA_BLOCK;
        const to = Math.min(end - i * RA_BLOCK, b.length);
        if (to <= from) break;
        out.set(b.subarray(from, to), filled);
        filled += to - from;
      }
      return filled === out.length ? out : out.subarray(0, filled);
    },
    close: () => afc.closeFile(handle).catch(() => undefined),
  };
}

export class IphoneSource implements Source {
  readonly key: string;
  readonly capabilities: SourceCapabilities = {
    expensiveReads: true,
    canDelete: false,
    // deleting under /DCIM over AFC leaves the Photos library pointing at missing files (libimobiledevice/ifuse#38)
    deleteNote:
      'Deleting over USB (AFC) would remove the files but leave them listed in the Photos app, pointing at nothing, and bypass Recently Deleted. Delete these on the iPhone instead: Photos → Select → Delete (kept 30 days in Recently Deleted).',
  };

  constructor(
    private readonly connection: AfcConnection,
    private readonly storageDir?: string,
  ) {
    this.key = `iphone:${connection.udid}`;
  }

  async *scan(ctx: ScanContext): AsyncIterable<Asset> {
    const afc = await this.connection.get();
    const files = await this.listCameraRoll(afc, ctx);
    const groups = groupCameraRoll(files);
    ctx.reportTotals({ assets: groups.length, bytes: files.reduce((n, f) => n + f.size, 0) });
    const usedIds = new Set<string>();
    const cache = await MetadataCache.open(this.storageDir, this.connection.udid);
    try {
      // Metadata of the next few assets is read concurrently (AFC requests pipeline), yielded in order.
      const pending: Promise<Asset>[] = [];
      for (const group of groups) {
        throwIfAborted(ctx.signal);
        const primary = (group.members[0] as (typeof group.members)[0]).file;
        let id = splitName(primary.path).base;
        if (usedIds.has(id)) id = primary.path;
        usedIds.add(id);
        const next = this.toAsset(id, group, cache, ctx.signal);
        next.catch(() => undefined);
        pending.push(next);
        if (pending.length >= METADATA_AHEAD) yield await (pending.shift() as Promise<Asset>);
      }
      while (pending.length > 0) yield await (pending.shift() as Promise<Asset>);
    } finally {
      await cache.save().catch((err) => ctx.logger.warn(`Could not save the iPhone metadata cache: ${(err as Error).message}`));
    }
  }

  private async toAsset(id: string, group: CameraRollGroup<PhoneFile>, cache: MetadataCache, signal: AbortSignal): Promise<Asset> {
    const diagnostics: Diagnostic[] = [...group.diagnostics];
    const resources: Resource[] = group.members.map(({ file, role }) => ({
      role,
      name: file.name,
      key: file.path,
      size: file.size,
      mtimeMs: file.mtimeMs,
      mediaType: mediaTypeOf(file.name),
      open: (options?: OpenOptions) => this.open(file, options),
    }));
    const primary = (group.members[0] as (typeof group.members)[0]).file;
    const facts = await this.facts(primary, cache, diagnostics, signal);
    let capturedAt = facts.date ?? captureDateFrom(undefined, { name: primary.name, mtimeMs: primary.mtimeMs });
    let contentIdentifier = facts.contentIdentifier;
    const motion = group.members.find((m) => m.role === 'motion')?.file;
    if (motion && (!contentIdentifier || !facts.date)) {
      // A Live Photo still without a date or identifier: the video of the same capture knows them.
      const partner = await this.facts(motion, cache, diagnostics, signal);
      if (partner.date && !facts.date) capturedAt = { ...partner.date, source: 'partner' };
      contentIdentifier ??= partner.contentIdentifier;
    }
    const asset: Asset = { id, kind: group.kind, resources };
    if (capturedAt) asset.capturedAt = capturedAt;
    if (contentIdentifier) asset.contentIdentifier = contentIdentifier;
    if (diagnostics.length > 0) asset.diagnostics = diagnostics;
    return asset;
  }

  async close(): Promise<void> {
    this.connection.close();
  }

  /** Every regular file under /DCIM/<folder>/, skipping hidden folders (.MISC). */
  private async listCameraRoll(afc: AfcClient, ctx: ScanContext): Promise<PhoneFile[]> {
    const warnUnsafe = (err: KeepsakeError) => ctx.logger.warn(err.describe());
    let folders: string[];
    try {
      folders = await afc.readDir(DCIM, warnUnsafe);
    } catch (err) {
      if (isKeepsakeError(err) && err.code === 'SOURCE_ITEM_VANISHED') {
        ctx.logger.warn('The iPhone has no DCIM folder (no photos taken with its camera yet?)');
        return [];
      }
      throw err;
    }
    const files: PhoneFile[] = [];
    for (const folder of folders.sort()) {
      if (folder.startsWith('.')) continue;
      throwIfAborted(ctx.signal);
      const folderPath = `${DCIM}/${folder}`;
      const info = await afc.getFileInfo(folderPath);
      if (info.type !== 'directory') continue;
      const names = (await afc.readDir(folderPath, warnUnsafe)).filter((n) => !n.startsWith('.')).sort();
      // Stats are pipelined in batches: one round trip per batch instead of per file.
      for (let i = 0; i < names.length; i += STAT_BATCH) {
        const batch = names.slice(i, i + STAT_BATCH);
        const stats = await Promise.allSettled(batch.map((name) => afc.getFileInfo(`${folderPath}/${name}`)));
        for (const [j, st] of stats.entries()) {
          const name = batch[j] as string;
          if (st.status === 'rejected') {
            // Deleted on the phone while we listed: skip it, the rest of the roll is fine.
            if (isKeepsakeError(st.reason) && st.reason.code === 'SOURCE_ITEM_VANISHED') continue;
            throw st.reason;
          }
          if (st.value.type !== 'file') continue;
          files.push({ path: `DCIM/${folder}/${name}`, name, size: st.value.size, mtimeMs: st.value.mtimeMs, afcPath: `${folderPath}/${name}` });
        }
      }
    }
    return files;
  }

  /** Date and identifier of one image/video, from the cache when unchanged; damaged metadata is a warning. */
  private async facts(file: PhoneFile, cache: MetadataCache, diagnostics: Diagnostic[], signal: AbortSignal): Promise<FileFacts> {
    const type = mediaTypeOf(file.name);
    if (file.size === 0 || !(isImageType(type) || isVideoType(type))) return {};
    let facts = cache.get(file.path, file.size, file.mtimeMs);
    if (!facts) {
      throwIfAborted(signal);
      const { transient, ...read } = await this.readFacts(file);
      facts = read;
      // A failure to reach the phone is not a fact about the file: do not cache it.
      if (!transient) cache.set(file.path, file.size, file.mtimeMs, facts);
    }
    if (facts.warning) diagnostics.push({ level: 'warning', source: 'iphone:metadata', message: facts.warning });
    return facts;
  }

  private async readFacts(file: PhoneFile): Promise<FileFacts & { transient?: boolean }> {
    let ra: Awaited<ReturnType<typeof afcRandomAccess>> | undefined;
    try {
      ra = await afcRandomAccess(await this.connection.get(), file.afcPath, file.size);
      const info: MediaInfo = await readMediaInfo(ra);
      const facts: FileFacts = {};
      if (info.damage) facts.warning = `${file.path}: metadata partly damaged (${info.damage}); the readable part was used and the file is copied as it is`;
      const date = captureDateFrom(info, { name: '' });
      if (date) facts.date = date;
      if (info.contentIdentifier) facts.contentIdentifier = info.contentIdentifier;
      return facts;
    } catch (err) {
      const why = isKeepsakeError(err) ? err.message : String(err);
      const transient = isKeepsakeError(err) && err.code !== MEDIA_MALFORMED;
      return { warning: `${file.path}: ${why}; the file is copied as it is`, transient };
    } finally {
      await ra?.close();
    }
  }

  private async *open(file: PhoneFile, options: OpenOptions = {}): AsyncGenerator<Uint8Array> {
    try {
      const afc = await this.connection.get();
      yield* afc.readFile(file.afcPath, { offset: options.offset ?? 0, signal: options.signal, expectedSize: file.size });
    } catch (err) {
      if (isKeepsakeError(err)) throw err.withContext({ resource: file.path, location: file.afcPath });
      throw err;
    }
  }
}

export async function createIphoneSource(options: IphoneSourceOptions): Promise<IphoneSource> {
  const timeoutMs = (options.readTimeoutSeconds ?? 30) * 1000;
  let provider: LinkProvider;
  if (options.transport === 'usb') {
    if (options.name)
      throw new KeepsakeError('OPTION_INVALID', 'The "name" option is not available with transport "usb"', { hint: 'Use "udid" instead (see `keepsake devices`).' });
    if (!options.storageDir) throw new KeepsakeError('OPTION_INVALID', 'transport "usb" needs a storage folder for pair records');
    provider = await directLinkProvider({ udid: options.udid, storageDir: options.storageDir, timeoutMs, usb: options.usbModule });
  } else {
    const usbmux = new UsbmuxClient({ env: options.env, timeoutMs });
    provider = usbmuxLinkProvider(usbmux, await selectDevice(usbmux, { udid: options.udid, name: options.name }, timeoutMs));
  }
  const session: SessionOptions = {
    timeoutMs,
    trust: {
      timeoutMs: (options.trustTimeoutSeconds ?? 120) * 1000,
      signal: options.signal,
      // Someone has to act on the phone: warn, so the CLI shows it at its default level.
      onProgress: (message) => options.logger.warn(message),
    },
  };
  const connection = new AfcConnection(provider, session);
  // Connect (and pair, if needed) now, so trust problems surface before the run starts.
  await connection.get();
  return new IphoneSource(connection, options.storageDir);
}
