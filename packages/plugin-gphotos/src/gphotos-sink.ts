import {
  type Asset,
  createHasher,
  defineCapabilities,
  isKeepsakeError,
  KeepsakeError,
  type Logger,
  primaryResource,
  type PutContext,
  type Receipt,
  renderTemplate,
  type Resource,
  type Sink,
  type SinkCapabilities,
  skippedItem,
  type StoredResource,
  templateValues,
  type VerifyResult,
} from '@keepsake/core';
import { ConcurrencyLimiter, type HttpClient, resumableUpload } from '@keepsake/transport-cloud';
import type { AlbumResolver } from './albums.js';
import { type MediaItem, PhotosLibraryApi } from './api.js';
import { BatchCreator } from './batch-create.js';
import { checkUploadSize, MAX_VIDEO_BYTES } from './limits.js';
import type { GPhotosOptions } from './options.js';

/** Upload tokens live one day; reuse a saved one only well inside that. */
const UPLOAD_TOKEN_TTL_MS = 20 * 60 * 60 * 1000;

export interface GPhotosSinkDeps {
  options: GPhotosOptions;
  /** Authenticated client for the Library API. */
  http: HttpClient;
  logger: Logger;
  albums?: AlbumResolver;
  /** Files up to this size go in one raw request (held in memory); larger ones resumable. Default 8 MiB. */
  rawMaxBytes?: number;
  /** Resumable fragment size (a multiple of Google's chunk granularity). Default 8 MiB. */
  fragmentBytes?: number;
  /** Uploads running at once (default 3); the pipeline may hand over many more puts while batches fill. */
  uploadConcurrency?: number;
  now?: () => number;
}

/** What the ledger keeps per resource between attempts and runs (`PutContext.resume`). */
export interface ItemState {
  v: 1;
  /** The bytes this state is about; another sha256 means start over. */
  sha256: string;
  size: number;
  uploadToken?: string;
  uploadedAt?: number;
  /** Set as soon as batchCreate returned it: from then on the item exists and is never created again. */
  mediaItemId?: string;
  productUrl?: string;
  /** The album id a batchCreate was refused for because the album was gone; the album path is taken once per item. */
  albumRefused?: string;
}

/**
 * The `gphotos` sink. Per resource: upload the bytes (raw or resumable) → keep the upload token in
 * the resume state → `batchCreate` (batched, serial) → keep the media item id in the resume state.
 * A retry or a rerun continues from whatever was saved: a resumable session from the server's
 * offset, a fresh upload token without re-uploading, a created item without creating it again.
 */
export class GPhotosSink implements Sink {
  readonly key: string;
  readonly capabilities: SinkCapabilities;
  private readonly api: PhotosLibraryApi;
  private readonly batches: BatchCreator;
  private readonly uploads: ConcurrencyLimiter;
  private readonly options: GPhotosOptions;
  private readonly logger: Logger;
  private readonly albums: AlbumResolver | undefined;
  private readonly rawMaxBytes: number;
  private readonly fragmentBytes: number;
  private readonly now: () => number;
  private readonly http: HttpClient;
  /** Puts that have not reached the batch queue yet (still uploading); flush waits for them. */
  private readonly arriving = new Set<Promise<unknown>>();

  constructor(deps: GPhotosSinkDeps) {
    this.options = deps.options;
    this.logger = deps.logger;
    this.http = deps.http;
    this.api = new PhotosLibraryApi(deps.http, deps.options.endpoint);
    this.batches = new BatchCreator(this.api, deps.logger);
    this.uploads = new ConcurrencyLimiter(deps.uploadConcurrency ?? 3);
    this.albums = deps.albums;
    this.rawMaxBytes = deps.rawMaxBytes ?? 8 * 1024 * 1024;
    this.fragmentBytes = deps.fragmentBytes ?? 8 * 1024 * 1024;
    this.now = deps.now ?? Date.now;
    this.key = `gphotos:${deps.options.clientId}`;
    this.capabilities = defineCapabilities({
      // Google reports no content hash; verification is "the created item exists"
      hashes: [],
      resumableUpload: true,
      atomicWrite: true,
      serverSideDedupe: 'none',
      maxItemBytes: MAX_VIDEO_BYTES,
      maxConcurrency: 8,
      preservesCaptureDate: true,
      // a HEIC + MOV pair uploaded through the public API becomes two items, not a Live Photo
      livePhotoPairs: false,
      offsite: true,
      canVerify: true,
    });
  }

  async put(asset: Asset, ctx: PutContext): Promise<Receipt> {
    const resources = asset.resources.filter((r) => r.role !== 'adjustments');
    const sidecars = asset.resources.filter((r) => r.role === 'adjustments');
    for (const r of resources) if (r.size !== undefined) checkUploadSize(r, r.size, asset.id);
    const values = templateValues(asset, primaryResource(asset));
    const albumTitle = this.options.album ? renderTemplate(this.options.album, values).trim() : '';
    const description = this.options.description ? renderTemplate(this.options.description, values).trim().slice(0, 1000) : undefined;
    const settled = await Promise.allSettled(resources.map((r) => this.putResource(asset, r, albumTitle, description, ctx)));
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason);
    if (failures.length) {
      // the most severe wins: a fatal (quota, auth) must stop the run even if another part failed differently
      const rank = (e: unknown) => (isKeepsakeError(e) ? { fatal: 0, permanent: 1, retryable: 2 }[e.classification] : 1);
      throw failures.sort((a, b) => rank(a) - rank(b))[0];
    }
    const skipped = await Promise.all(sidecars.map((r) => skippedItem(r, 'Google Photos does not store edit sidecars', ctx.signal)));
    return { items: [...settled.map((s) => (s as PromiseFulfilledResult<StoredResource>).value), ...skipped] };
  }

  async flush(): Promise<void> {
    while (this.arriving.size) await Promise.allSettled([...this.arriving]);
    await this.batches.flush();
  }

  async verify(item: StoredResource, ctx: { signal: AbortSignal }): Promise<VerifyResult> {
    if (!item.remoteId) return { status: 'unverifiable', detail: 'No media item id was recorded' };
    const found = await this.api.getMediaItem(item.remoteId, ctx.signal);
    if (!found) return { status: 'missing', detail: `Media item ${item.remoteId} is gone (deleted in Google Photos?)` };
    return { status: 'ok', detail: `${found.filename ?? item.name} (${found.mimeType ?? 'unknown type'})` };
  }

  async close(): Promise<void> {
    await this.flush();
    await this.http.close();
  }

  private async putResource(asset: Asset, r: Resource, albumTitle: string, description: string | undefined, ctx: PutContext): Promise<StoredResource> {
    let uploaded!: { state: ItemState; existing?: MediaItem; albumId?: string };
    const arrival = (async () => {
      const albumId = albumTitle && this.albums ? await this.albums.idFor(albumTitle, ctx.signal) : undefined;
      uploaded = { ...(await this.ensureUploaded(asset, r, ctx)), albumId };
    })();
    const marker = arrival.catch(() => undefined);
    this.arriving.add(marker);
    try {
      await arrival;
    } finally {
      this.arriving.delete(marker);
    }
    const { state, existing, albumId } = uploaded;
    let item = existing;
    if (!item) {
      try {
        item = await this.batches.create({ uploadToken: state.uploadToken!, fileName: r.name, description }, albumId, ctx.signal);
      } catch (err) {
        // a refused token is not tried again: the next attempt uploads the bytes anew
        if (isKeepsakeError(err) && err.code === 'GPHOTOS_ITEM_REJECTED') ctx.resume.save(r.key, { ...state, uploadToken: undefined, uploadedAt: undefined } satisfies ItemState);
        if (albumId && isKeepsakeError(err) && (err.code === 'HTTP_CLIENT_ERROR' || err.code === 'SINK_NOT_FOUND') && (await this.albumGone(albumId, state, ctx))) {
          // the whole call was refused while naming an album the app's album list no longer has (deleted
          // in Google Photos): forget the id, so the retry looks the title up again and recreates it.
          await this.albums?.forget(albumTitle, albumId);
          ctx.resume.save(r.key, { ...state, albumRefused: albumId } satisfies ItemState);
          throw new KeepsakeError('GPHOTOS_ALBUM_REFUSED', `Google Photos refused to add ${r.name} to the album "${albumTitle}", which is no longer among this app's albums: ${err.message}`, {
            cause: err,
            classification: 'retryable',
            assetId: asset.id,
            resource: r.key,
            stage: 'put',
            hint: 'The album was deleted in Google Photos; keepsake creates it anew on the next attempt (the upload is kept).',
          });
        }
        throw isKeepsakeError(err) ? err.withContext({ assetId: asset.id, resource: r.key, stage: 'put' }) : err;
      }
      ctx.resume.save(r.key, { ...state, mediaItemId: item.id, productUrl: item.productUrl } satisfies ItemState);
    }
    if (item.mimeType && !sameKind(item.mimeType, r.mediaType)) {
      this.logger.warn('Google Photos stored a different media type', { file: r.name, sent: r.mediaType, stored: item.mimeType });
    }
    return {
      resourceKey: r.key,
      role: r.role,
      name: r.name,
      location: item.productUrl ?? `gphotos:${item.id}`,
      remoteId: item.id,
      size: state.size,
      hashes: { sha256: state.sha256 },
      // Google confirmed the item by id; it exposes no hash to compare bytes with
      verified: true,
    };
  }

  /**
   * A batchCreate naming `albumId` was refused as a whole. Only the app's album list can say the album
   * is to blame: a 400 is also what a malformed request or a refused upload token gets, and those
   * must stay permanent errors instead of being retried with an "album deleted" story. Taken once per
   * item (`albumRefused`), so an album that keeps being refused cannot retry an item forever.
   */
  private async albumGone(albumId: string, state: ItemState, ctx: PutContext): Promise<boolean> {
    if (!this.albums || state.albumRefused) return false;
    try {
      return await this.albums.isGone(albumId, ctx.signal);
    } catch (err) {
      this.logger.warn('Could not list the app\'s albums to check a refused album', { albumId, error: isKeepsakeError(err) ? err.message : String(err) });
      return false;
    }
  }

  /** Returns saved state with a usable upload token, uploading only when there is none; or the item already created. */
  private async ensureUploaded(asset: Asset, r: Resource, ctx: PutContext): Promise<{ state: ItemState; existing?: MediaItem }> {
    const saved = ctx.resume.load<ItemState>(r.key);
    const usable = saved?.v === 1 && (r.sha256 === undefined || saved.sha256 === r.sha256) ? saved : undefined;
    if (usable?.mediaItemId) {
      const found = await this.api.getMediaItem(usable.mediaItemId, ctx.signal);
      if (found) {
        this.logger.info('already in Google Photos; not creating it again', { file: r.name, id: found.id });
        return { state: usable, existing: found };
      }
      this.logger.warn('the media item created earlier is gone; uploading again', { file: r.name, id: usable.mediaItemId });
    } else if (usable?.uploadToken && usable.uploadedAt !== undefined && this.now() - usable.uploadedAt < UPLOAD_TOKEN_TTL_MS) {
      return { state: usable };
    }
    const release = await this.uploads.acquire(ctx.signal);
    try {
      const size = r.size ?? (await measure(r, ctx.signal));
      checkUploadSize(r, size, asset.id);
      const { token, sha256 } = size <= this.rawMaxBytes ? await this.uploadRaw(r, size, ctx) : await this.uploadResumable(r, size, ctx);
      // a fresh token does not reset the once-per-item album retry
      const state: ItemState = { v: 1, sha256, size, uploadToken: token, uploadedAt: this.now(), ...(usable?.albumRefused ? { albumRefused: usable.albumRefused } : {}) };
      ctx.resume.save(r.key, state);
      return { state };
    } catch (err) {
      throw isKeepsakeError(err) ? err.withContext({ assetId: asset.id, resource: r.key, stage: 'put' }) : err;
    } finally {
      release();
    }
  }

  private async uploadRaw(r: Resource, size: number, ctx: PutContext): Promise<{ token: string; sha256: string }> {
    const bytes = new Uint8Array(size);
    const hasher = createHasher('sha256');
    let at = 0;
    for await (const chunk of r.open({ signal: ctx.signal })) {
      if (at + chunk.byteLength > size) throw truncated(r, size, 'more');
      bytes.set(chunk, at);
      hasher.update(chunk);
      at += chunk.byteLength;
    }
    if (at !== size) throw truncated(r, size, String(at));
    const token = await this.api.uploadRaw(bytes, r.mediaType, ctx.signal);
    ctx.onProgress(size);
    return { token, sha256: hasher.digest() };
  }

  private async uploadResumable(r: Resource, size: number, ctx: PutContext): Promise<{ token: string; sha256: string }> {
    const result = await resumableUpload({
      protocol: this.api.resumableProtocol(r.mediaType, size, this.fragmentBytes),
      open: r.open,
      size,
      fragmentSize: this.fragmentBytes,
      resume: ctx.resume,
      resumeKey: `${r.key}#upload-session`,
      fingerprint: r.sha256 ?? `${size}:${r.mtimeMs ?? ''}`,
      signal: ctx.signal,
      onProgress: (b) => ctx.onProgress(b),
      logger: ctx.logger,
    });
    return { token: result.result, sha256: result.hashes.sha256! };
  }
}

function truncated(r: Resource, size: number, got: string): KeepsakeError {
  return new KeepsakeError('SOURCE_ITEM_TRUNCATED', `${r.name}: the source gave ${got} bytes; ${size} were expected`, { classification: 'permanent' });
}

async function measure(r: Resource, signal: AbortSignal): Promise<number> {
  let n = 0;
  for await (const chunk of r.open({ signal })) n += chunk.byteLength;
  return n;
}

function sameKind(a: string, b: string): boolean {
  return a.split('/')[0] === b.split('/')[0];
}
