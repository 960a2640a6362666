import { KeepsakeError, sleep } from '@keepsake/core';
import { type HttpClient, httpError, type ResumableProtocol, redactUrl, type SessionStatus } from '@keepsake/transport-cloud';
import type { ConflictBehavior, DriveItem, UploadSessionInfo } from './graph-types.js';

/** Session state saved in the ledger between runs. */
export interface GraphSession {
  uploadUrl: string;
  expiresAt?: string;
}

export interface GraphUploadOptions {
  /** Authenticated Graph client (createUploadSession). */
  graph: HttpClient;
  /** Client WITHOUT auth for the pre-authenticated upload URL (sending the token there is refused). */
  upload: HttpClient;
  /** `{endpoint}/me/drive/root:/path:` */
  itemUrl: string;
  conflict: ConflictBehavior;
  fileSystemInfo?: { createdDateTime?: string; lastModifiedDateTime?: string };
  /** Request timeout for one fragment (scaled by the caller to its size). */
  fragmentTimeoutMs: number;
  /** Waits before re-reading an item whose QuickXorHash is not there yet (default {@link HASH_WAITS_MS}). */
  hashWaitsMs?: readonly number[];
}

/**
 * Business drives (OneDrive for Business, SharePoint) add `file.hashes` a moment after an upload
 * completes: waits before each re-read of a file that has the expected size but no hash yet
 * (7.5 s in all).
 */
export const HASH_WAITS_MS: readonly number[] = [500, 1000, 2000, 4000];

/**
 * Reads an item (`read` answers undefined for 404) and, while it is a file of `size` bytes without
 * a QuickXorHash, reads it again after each wait in `waitsMs`. Other items are returned at once.
 */
export async function readItemWithHash(
  read: () => Promise<DriveItem | undefined>,
  size: number,
  signal: AbortSignal,
  waitsMs: readonly number[] = HASH_WAITS_MS,
): Promise<DriveItem | undefined> {
  let item = await read();
  for (const wait of waitsMs) {
    if (!item?.file || item.size !== size || item.file.hashes?.quickXorHash) break;
    await sleep(wait, signal);
    item = await read();
  }
  return item;
}

/** First offset of `nextExpectedRanges` (`["26214400-"]`, `["0-1023","2048-"]`). */
export function firstExpectedOffset(ranges: string[] | undefined): number | undefined {
  const first = ranges?.[0];
  if (!first) return undefined;
  const n = Number(first.split('-')[0]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Graph upload sessions as a {@link ResumableProtocol}: createUploadSession by path with
 * conflictBehavior and fileSystemInfo; fragments PUT in order with Content-Range and no
 * Authorization header; 202 + nextExpectedRanges while partial, 200/201 + driveItem when done;
 * 416 → ask the session where to continue; 404 → session expired, unless the last fragment was
 * sent and the target path now holds these bytes (the answer to the completing PUT was lost).
 */
export function graphUploadProtocol(o: GraphUploadOptions): ResumableProtocol<GraphSession, DriveItem> {
  const fromInfo = (info: UploadSessionInfo | undefined): SessionStatus<DriveItem> => {
    const offset = firstExpectedOffset(info?.nextExpectedRanges);
    if (offset === undefined) {
      throw new KeepsakeError('SINK_WRITE_FAILED', 'OneDrive upload session answered without nextExpectedRanges', { classification: 'retryable' });
    }
    return { kind: 'partial', offset };
  };

  const status = async (s: GraphSession, signal: AbortSignal): Promise<SessionStatus<DriveItem>> => {
    const res = await o.upload.request({ method: 'GET', url: s.uploadUrl, auth: false, accept: [404], signal });
    if (res.status === 404) return { kind: 'expired' };
    const body = res.json<UploadSessionInfo & Partial<DriveItem>>();
    // Some services answer a finished session with the item itself.
    if (body && typeof body.id === 'string' && body.file) return { kind: 'done', result: body as DriveItem };
    return fromInfo(body);
  };

  return {
    async start(signal) {
      const item: Record<string, unknown> = { '@microsoft.graph.conflictBehavior': o.conflict };
      if (o.fileSystemInfo) item.fileSystemInfo = o.fileSystemInfo;
      const info = await o.graph.json<UploadSessionInfo>({
        method: 'POST',
        // Documented in the body's `item`; the driveItem reference also asks for it in the URL
        // (SharePoint/business libraries have been reported to honour only that): send both.
        url: `${o.itemUrl}/createUploadSession?@microsoft.graph.conflictBehavior=${o.conflict}`,
        json: { item },
        // A second session for the same path is harmless; the first is left to expire.
        retry: true,
        signal,
      });
      if (!info?.uploadUrl) throw new KeepsakeError('SINK_WRITE_FAILED', 'OneDrive did not return an upload URL', { classification: 'retryable' });
      return { uploadUrl: info.uploadUrl, expiresAt: info.expirationDateTime };
    },
    status,
    async send(s, f, signal) {
      const last = f.offset + f.bytes.byteLength - 1;
      const res = await o.upload.request({
        method: 'PUT',
        url: s.uploadUrl,
        auth: false,
        headers: { 'content-range': `bytes ${f.offset}-${last}/${f.total}`, 'content-type': 'application/octet-stream' },
        body: f.bytes,
        // Outcome unknown after a failure: the resumable helper asks the session instead.
        retry: false,
        accept: [404, 416],
        timeoutMs: o.fragmentTimeoutMs,
        signal,
      });
      if (res.status === 404) return { kind: 'expired' };
      if (res.status === 416) return status(s, signal);
      if (res.status === 200 || res.status === 201) return { kind: 'done', result: res.json<DriveItem>() };
      if (res.status === 202) return fromInfo(res.json<UploadSessionInfo>());
      throw httpError({ status: res.status, body: res.text, url: redactUrl(s.uploadUrl), method: 'PUT' }, { service: 'OneDrive', sink: 'onedrive' });
    },
    async committed(_s, upload, signal) {
      // The session URL is gone once the last byte completed the upload: look at the target path.
      // Only a file with this size and QuickXorHash is ours; without a hash (business drives add
      // it a moment later) nothing can be told, so wait for it (bounded) before concluding.
      const read = async () => {
        const res = await o.graph.request({ method: 'GET', url: o.itemUrl, accept: [404], signal });
        return res.status === 404 ? undefined : res.json<DriveItem>();
      };
      const item = await readItemWithHash(read, upload.size, signal, o.hashWaitsMs);
      const qx = item?.file?.hashes?.quickXorHash;
      return qx && qx === upload.hashes.quickXorHash && item.size === upload.size ? item : undefined;
    },
    async cancel(s) {
      await o.upload.request({ method: 'DELETE', url: s.uploadUrl, auth: false, accept: [404], timeoutMs: 15_000, retry: false });
    },
  };
}
