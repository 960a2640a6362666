import { abortError, KeepsakeError, type Logger, SinkError } from '@keepsake/core';
import type { MediaItem, NewMediaItem, NewMediaItemResult, PhotosLibraryApi } from './api.js';

/** Largest `newMediaItems` list the API takes in one call. */
export const BATCH_LIMIT = 50;

interface Waiting {
  item: NewMediaItem;
  signal: AbortSignal;
  resolve(m: MediaItem): void;
  reject(e: unknown): void;
}

/**
 * Collects upload tokens and turns them into media items with `mediaItems:batchCreate`: a batch
 * goes out when 50 items wait for the same album, or on `flush`. Calls are strictly serial
 * (Google answers parallel calls for one user with errors). Each item settles with its own
 * status: partial success is normal, and one failed item fails only itself.
 */
export class BatchCreator {
  private readonly queues = new Map<string, Waiting[]>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: PhotosLibraryApi,
    private readonly logger: Logger,
  ) {}

  create(item: NewMediaItem, albumId: string | undefined, signal: AbortSignal): Promise<MediaItem> {
    return new Promise((resolve, reject) => {
      const key = albumId ?? '';
      const q = this.queues.get(key) ?? [];
      q.push({ item, signal, resolve, reject });
      this.queues.set(key, q);
      if (q.length >= BATCH_LIMIT) this.dispatch(key);
    });
  }

  /** Sends every waiting item; resolves when all batches sent so far have settled. */
  async flush(): Promise<void> {
    for (const key of [...this.queues.keys()]) this.dispatch(key);
    await this.chain;
  }

  private dispatch(key: string): void {
    const q = this.queues.get(key);
    if (!q?.length) return;
    this.queues.delete(key);
    for (let i = 0; i < q.length; i += BATCH_LIMIT) {
      const batch = q.slice(i, i + BATCH_LIMIT);
      this.chain = this.chain.then(() => this.send(batch, key || undefined));
    }
  }

  private async send(batch: Waiting[], albumId: string | undefined): Promise<void> {
    const live = batch.filter((w) => {
      if (!w.signal.aborted) return true;
      w.reject(abortError(w.signal.reason));
      return false;
    });
    if (!live.length) return;
    let results: NewMediaItemResult[];
    try {
      results = await this.api.batchCreate(
        live.map((w) => w.item),
        albumId,
        AbortSignal.any(live.map((w) => w.signal)),
      );
    } catch (err) {
      for (const w of live) w.reject(err);
      return;
    }
    const byToken = new Map(results.filter((r) => r.uploadToken).map((r) => [r.uploadToken!, r]));
    for (const [i, w] of live.entries()) {
      // results come in request order; match by token when the server echoes it
      const r = byToken.get(w.item.uploadToken) ?? results[i];
      const code = r?.status?.code ?? 0;
      if (r?.mediaItem?.id && code === 0) w.resolve(r.mediaItem);
      else w.reject(itemError(w.item, r));
    }
    this.logger.debug('batchCreate', { items: live.length, albumId, failed: live.length - results.filter((r) => r.mediaItem?.id).length });
  }
}

/** google.rpc.Code of a per-item status → what the pipeline should do with that item. */
export function itemError(item: NewMediaItem, r: NewMediaItemResult | undefined): KeepsakeError {
  const code = r?.status?.code;
  const msg = r?.status?.message ?? 'no result for this item';
  const what = `Google Photos did not create ${item.fileName}: ${msg}${code !== undefined ? ` (code ${code})` : ''}`;
  if (code === 8) return SinkError.quotaExceeded(`Google Photos: ${msg}`, { classification: 'fatal' });
  if (code === 16) return SinkError.authRequired('gphotos', { cause: what });
  // INVALID_ARGUMENT: unsupported file, or the upload token was refused/expired
  if (code === 3 || code === 9 || code === 5) return new KeepsakeError('GPHOTOS_ITEM_REJECTED', what, { classification: 'permanent', hint: 'The file may be in a format Google Photos does not take. A rerun uploads it again.' });
  return new KeepsakeError('GPHOTOS_ITEM_FAILED', what, { classification: 'retryable' });
}
