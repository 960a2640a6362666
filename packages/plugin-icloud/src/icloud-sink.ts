import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Asset,
  defineCapabilities,
  hashFile,
  KeepsakeError,
  type Logger,
  primaryResource,
  type PutContext,
  type Receipt,
  renderTemplate,
  resolveUserPath,
  sanitizeSegment,
  type Sink,
  skippedItem,
  type StoredResource,
  templateValues,
  type VerifyResult,
} from '@keepsake/core';
import { deliverable, writeAssetToFolder } from './folder-write.js';
import type { ImportLog } from './import-log.js';
import type { ICloudOptions } from './options.js';
import { importIntoPhotos, type RunOsascript, runOsascript } from './photos-import.js';
import { detectWindowsICloudPhotosFolder } from './windows-folder.js';

/** How this instance reaches iCloud, decided once at creation. */
export type ICloudBridge =
  | { kind: 'folder'; root: string; why: 'option' | 'icloud-for-windows' }
  | { kind: 'photos-app'; stagingRoot: string };

export interface BridgeEnvironment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  configDir: string;
  storageDir: string;
  isDirectory?: (path: string) => Promise<boolean>;
}

/**
 * Picks the bridge: an explicit `path` always wins (folder bridge); Windows detects the iCloud for
 * Windows Photos folder; macOS imports through Photos.app unless `mode: folder`; anywhere else
 * there is nothing honest to do without a `path`, so NOT_SUPPORTED.
 */
export async function resolveBridge(o: ICloudOptions, e: BridgeEnvironment): Promise<ICloudBridge> {
  const isDirectory = e.isDirectory ?? ((p: string) => stat(p).then((s) => s.isDirectory(), () => false));
  const abs = (p: string) => resolveUserPath(e.configDir, p);
  const mode = o.mode === 'auto' ? (e.platform === 'darwin' && !o.path ? 'photos-app' : 'folder') : o.mode;
  if (mode === 'photos-app') {
    if (e.platform !== 'darwin') {
      throw new KeepsakeError('NOT_SUPPORTED', `icloud: mode photos-app needs macOS (this is ${e.platform})`, {
        stage: 'config',
        classification: 'fatal',
        hint: 'On Windows use the default mode; elsewhere set `path` to a folder that something syncs to iCloud.',
      });
    }
    return { kind: 'photos-app', stagingRoot: o.stagingDir ? abs(o.stagingDir) : join(e.storageDir, 'photos-import') };
  }
  if (o.path) return { kind: 'folder', root: abs(o.path), why: 'option' };
  if (e.platform === 'win32') {
    const found = await detectWindowsICloudPhotosFolder(e.env, isDirectory);
    if (found.path) return { kind: 'folder', root: found.path, why: 'icloud-for-windows' };
    throw new KeepsakeError('ICLOUD_FOLDER_NOT_FOUND', 'icloud: the iCloud for Windows "iCloud Photos" folder was not found', {
      stage: 'config',
      classification: 'fatal',
      location: found.tried.join('; '),
      hint: 'Install iCloud for Windows, sign in and turn on Photos; or set `path` to your iCloud Photos folder.',
    });
  }
  throw new KeepsakeError('NOT_SUPPORTED', `icloud: there is no iCloud Photos upload on ${e.platform}`, {
    stage: 'config',
    classification: 'fatal',
    hint:
      e.platform === 'darwin'
        ? 'mode folder needs `path` (a folder you watch or sync).'
        : 'Apple offers no public upload API. Set `path` to a folder that is synced to iCloud by other means, or use a Windows PC or a Mac.',
  });
}

export interface ICloudSinkDeps {
  bridge: ICloudBridge;
  options: ICloudOptions;
  logger: Logger;
  runOsascript?: RunOsascript;
  /** Remembers Photos imports across runs (Photos-app mode). */
  importLog?: ImportLog;
}

/** Resume state for Photos imports: the ids Photos returned, kept until the ledger records them. */
interface PhotosImportState {
  photosIds: string[];
  staged: string[];
}

export class ICloudSink implements Sink {
  readonly key: string;
  readonly capabilities;
  private readonly bridge: ICloudBridge;
  private readonly options: ICloudOptions;
  private readonly logger: Logger;
  private readonly run: RunOsascript;
  private readonly importLog: ImportLog | undefined;

  constructor(deps: ICloudSinkDeps) {
    this.bridge = deps.bridge;
    this.options = deps.options;
    this.logger = deps.logger;
    this.run = deps.runOsascript ?? runOsascript;
    this.importLog = deps.importLog;
    this.key = deps.bridge.kind === 'folder' ? `icloud:folder:${deps.bridge.root}` : 'icloud:photos-app';
    const folder = deps.bridge.kind === 'folder';
    this.capabilities = defineCapabilities({
      hashes: folder ? ['sha256'] : [],
      resumableUpload: false,
      atomicWrite: true,
      serverSideDedupe: 'none',
      // iCloud for Windows and Photos both read files as they are written; a few at a time
      maxConcurrency: folder ? 2 : 1,
      preservesCaptureDate: true,
      livePhotoPairs: true,
      offsite: true,
      canVerify: folder,
    });
  }

  async put(asset: Asset, ctx: PutContext): Promise<Receipt> {
    const delivered =
      this.bridge.kind === 'folder' ? await writeAssetToFolder(this.bridge.root, asset, ctx) : (await this.importAsset(this.bridge.stagingRoot, asset, ctx)).items;
    const skipped = await Promise.all(asset.resources.filter((r) => !deliverable(asset).includes(r)).map((r) => skippedItem(r, 'iCloud Photos has no place for edit sidecars', ctx.signal)));
    return { items: [...delivered, ...skipped] };
  }

  /**
   * Stages the files (atomic, read back), imports them in one Photos call, then remembers the
   * returned ids in the resume store before answering, so a retry after the import but before the
   * ledger write does not import the asset a second time.
   */
  private async importAsset(stagingRoot: string, asset: Asset, ctx: PutContext): Promise<Receipt> {
    const resumeKey = primaryResource(asset)?.key ?? asset.id;
    const dir = join(stagingRoot, sanitizeSegment(asset.id.replace(/[\\/]+/g, '_')));
    const staged = await writeAssetToFolder(dir, asset, ctx);
    const prior = ctx.resume.load<PhotosImportState>(resumeKey);
    const logged = await this.importLog?.lookup(staged.map((s) => ({ resourceKey: s.resourceKey, sha256: s.hashes.sha256 })));
    let ids = prior?.photosIds ?? (logged ? [...new Set(logged)] : undefined);
    if (!ids) {
      const album = this.options.album ? renderTemplate(this.options.album, templateValues(asset, primaryResource(asset))).trim() : undefined;
      ids = await importIntoPhotos(
        staged.map((s) => join(dir, s.location)),
        album || undefined,
        this.run,
        ctx.signal,
      );
      ctx.resume.save(resumeKey, { photosIds: ids, staged: staged.map((s) => s.location) } satisfies PhotosImportState);
      const got = ids;
      await this.importLog?.record(staged.map((s, i) => ({ resourceKey: s.resourceKey, sha256: s.hashes.sha256, photosId: got.length === staged.length ? got[i]! : got[0]! })));
    } else {
      this.logger.info('Photos already imported this asset in an earlier attempt; not importing again', { asset: asset.id, ids });
    }
    if (!this.options.keepStaged) await rm(dir, { recursive: true, force: true });
    const items: StoredResource[] = staged.map((s, i) => ({
      ...s,
      location: `photos-app:${s.name}`,
      // Photos returns one item for a paired Live Photo, one per file otherwise
      remoteId: ids.length === staged.length ? ids[i] : ids[0],
      verified: false,
    }));
    return { items };
  }

  async verify(item: StoredResource, ctx: { signal: AbortSignal }): Promise<VerifyResult> {
    if (this.bridge.kind !== 'folder') {
      return { status: 'unverifiable', detail: 'Photos.app imports cannot be read back; iCloud upload state is not visible to keepsake' };
    }
    try {
      const { hashes } = await hashFile(join(this.bridge.root, item.location), ['sha256'], ctx.signal);
      if (hashes.sha256 === item.hashes.sha256) return { status: 'ok', actual: { sha256: hashes.sha256 } };
      return { status: 'corrupt', detail: 'The file in the iCloud folder differs from what keepsake wrote', actual: { sha256: hashes.sha256! } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing', detail: `${item.location} is no longer in ${this.bridge.root}` };
      throw err;
    }
  }

  /** Files this sink would hand over for an asset (for dry runs and tests). */
  static deliverable = deliverable;
}
