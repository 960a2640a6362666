import { backoffDelay, isKeepsakeError, KeepsakeError, sleep } from '@keepsake/core';
import type { HttpClient, ResumableProtocol, SessionStatus } from '@keepsake/transport-cloud';

/** A media item as the Library API describes it (fields keepsake uses). */
export interface MediaItem {
  id: string;
  filename?: string;
  mimeType?: string;
  productUrl?: string;
  description?: string;
}

export interface NewMediaItem {
  uploadToken: string;
  fileName: string;
  description?: string;
}

/** One entry of `newMediaItemResults`: `status.code` 0 or absent is success (google.rpc.Status). */
export interface NewMediaItemResult {
  uploadToken?: string;
  status?: { code?: number; message?: string };
  mediaItem?: MediaItem;
}

export interface Album {
  id: string;
  title: string;
  isWriteable?: boolean;
}

/** batchCreate calls answered 429 are sent again this many times, waiting at most this long each. */
const RATE_LIMIT_RETRIES = 4;
const MAX_RATE_LIMIT_WAIT_MS = 120_000;

/** Resumable session as saved in the ledger's resume state. */
export interface UploadSession {
  url: string;
  granularity: number;
}

/** Thin, typed calls to the Photos Library API over transport-cloud's client (retries, 401 refresh, errors). */
export class PhotosLibraryApi {
  constructor(
    private readonly http: HttpClient,
    private readonly endpoint: string,
  ) {}

  /** Single-request upload ("raw"): the body is the bytes, the answer is the upload token. */
  async uploadRaw(bytes: Uint8Array, mimeType: string, signal: AbortSignal): Promise<string> {
    const res = await this.http.request({
      method: 'POST',
      url: `${this.endpoint}/v1/uploads`,
      headers: {
        'content-type': 'application/octet-stream',
        'x-goog-upload-content-type': mimeType,
        'x-goog-upload-protocol': 'raw',
      },
      body: bytes,
      // sending the bytes again only makes another token; the unused one expires
      retry: true,
      timeoutMs: 300_000,
      signal,
    });
    return uploadTokenFrom(res.text);
  }

  /** The resumable protocol (start / upload / upload, finalize / query) for transport-cloud's helper. */
  resumableProtocol(mimeType: string, size: number, fragmentBytes: number): ResumableProtocol<UploadSession, string> {
    const http = this.http;
    return {
      start: async (signal) => {
        const res = await http.request({
          method: 'POST',
          url: `${this.endpoint}/v1/uploads`,
          headers: {
            'content-length': '0',
            'x-goog-upload-command': 'start',
            'x-goog-upload-content-type': mimeType,
            'x-goog-upload-protocol': 'resumable',
            'x-goog-upload-raw-size': String(size),
          },
          body: '',
          retry: true,
          signal,
        });
        const url = res.header('x-goog-upload-url');
        if (!url) throw new KeepsakeError('SINK_WRITE_FAILED', 'Google Photos did not return an upload URL', { classification: 'retryable' });
        const granularity = Number(res.header('x-goog-upload-chunk-granularity') ?? 1) || 1;
        if (fragmentBytes % granularity !== 0 && fragmentBytes < size) {
          throw new KeepsakeError('SINK_WRITE_FAILED', `Google Photos asks for chunks in multiples of ${granularity} bytes; keepsake sends ${fragmentBytes}`, {
            classification: 'permanent',
          });
        }
        return { url, granularity };
      },
      status: async (session, signal): Promise<SessionStatus<string>> => {
        const res = await http.request({
          method: 'POST',
          url: session.url,
          headers: { 'content-length': '0', 'x-goog-upload-command': 'query' },
          body: '',
          retry: true,
          accept: [400, 404, 410],
          signal,
        });
        if (res.status >= 400) return { kind: 'expired' };
        const state = res.header('x-goog-upload-status');
        if (state === 'active') return { kind: 'partial', offset: Number(res.header('x-goog-upload-size-received') ?? 0) };
        // final: the token is in the body when the server still has it; otherwise upload again
        if (state === 'final' && res.text.trim()) return { kind: 'done', result: uploadTokenFrom(res.text) };
        return { kind: 'expired' };
      },
      send: async (session, fragment, signal): Promise<SessionStatus<string>> => {
        const last = fragment.offset + fragment.bytes.byteLength === fragment.total;
        const res = await http.request({
          method: 'POST',
          url: session.url,
          headers: {
            'x-goog-upload-command': last ? 'upload, finalize' : 'upload',
            'x-goog-upload-offset': String(fragment.offset),
          },
          body: fragment.bytes,
          // the helper asks `status` before resending, never blindly
          retry: false,
          timeoutMs: 300_000,
          signal,
        });
        if (last) return { kind: 'done', result: uploadTokenFrom(res.text) };
        return { kind: 'partial', offset: fragment.offset + fragment.bytes.byteLength };
      },
    };
  }

  /**
   * `mediaItems:batchCreate` (≤ 50 items). Not retried by the client: a repeat after a 5xx or a lost
   * answer could create copies. Only a 429 is sent again (after its Retry-After): the call was
   * refused before anything was created.
   */
  async batchCreate(items: NewMediaItem[], albumId: string | undefined, signal: AbortSignal): Promise<NewMediaItemResult[]> {
    if (items.length > 50) throw new Error(`batchCreate takes at most 50 items (got ${items.length})`);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.batchCreateOnce(items, albumId, signal);
      } catch (err) {
        const wait = isKeepsakeError(err) && err.code === 'RATE_LIMITED' ? (err.retryAfterMs ?? backoffDelay(attempt, 1000)) : undefined;
        if (wait === undefined || attempt >= RATE_LIMIT_RETRIES || wait > MAX_RATE_LIMIT_WAIT_MS) throw err;
        await sleep(wait, signal);
      }
    }
  }

  private async batchCreateOnce(items: NewMediaItem[], albumId: string | undefined, signal: AbortSignal): Promise<NewMediaItemResult[]> {
    const body = await this.http.json<{ newMediaItemResults?: NewMediaItemResult[] }>({
      method: 'POST',
      url: `${this.endpoint}/v1/mediaItems:batchCreate`,
      json: {
        ...(albumId ? { albumId } : {}),
        newMediaItems: items.map((i) => ({
          ...(i.description ? { description: i.description } : {}),
          simpleMediaItem: { uploadToken: i.uploadToken, fileName: i.fileName },
        })),
      },
      retry: false,
      timeoutMs: 120_000,
      signal,
    });
    return body?.newMediaItemResults ?? [];
  }

  /** The item when this app created it and it still exists; undefined on 404. */
  async getMediaItem(id: string, signal: AbortSignal): Promise<MediaItem | undefined> {
    const res = await this.http.request({ method: 'GET', url: `${this.endpoint}/v1/mediaItems/${encodeURIComponent(id)}`, accept: [404], signal });
    return res.status === 404 ? undefined : res.json<MediaItem>();
  }

  /** App-created albums (the only ones the remaining scopes can see or add to). */
  async listAlbums(signal: AbortSignal): Promise<Album[]> {
    const out: Album[] = [];
    let pageToken: string | undefined;
    do {
      const url = new URL(`${this.endpoint}/v1/albums`);
      url.searchParams.set('pageSize', '50');
      url.searchParams.set('excludeNonAppCreatedData', 'true');
      if (pageToken) url.searchParams.set('pageToken', pageToken);
      const page = await this.http.json<{ albums?: Album[]; nextPageToken?: string }>({ method: 'GET', url, signal });
      out.push(...(page?.albums ?? []));
      pageToken = page?.nextPageToken;
    } while (pageToken);
    return out;
  }

  async createAlbum(title: string, signal: AbortSignal): Promise<Album> {
    return this.http.json<Album>({ method: 'POST', url: `${this.endpoint}/v1/albums`, json: { album: { title } }, retry: false, signal });
  }
}

function uploadTokenFrom(text: string): string {
  const token = text.trim();
  if (!token) throw new KeepsakeError('SINK_WRITE_FAILED', 'Google Photos accepted the bytes but returned no upload token', { classification: 'retryable' });
  return token;
}
