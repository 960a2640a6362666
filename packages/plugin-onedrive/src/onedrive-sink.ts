import {
  abortError,
  type Asset,
  isKeepsakeError,
  createHasher,
  defineCapabilities,
  type FactoryContext,
  KeepsakeError,
  type PutContext,
  type Receipt,
  type Resource,
  type Sink,
  SinkError,
  type StoredResource,
  throwIfAborted,
  type VerifyResult,
} from '@keepsake/core';
import { createHttpClient, createTokenProvider, type HttpClient, resumableUpload } from '@keepsake/transport-cloud';
import { fileSystemInfoFor } from './dates.js';
import type { Drive, DriveItem } from './graph-types.js';
import { oneDriveTokenStore } from './login.js';
import { checkPathTemplate, fitPath, itemPathSegment, renderFolder, resourceFileName } from './names.js';
import { MAX_FILE_BYTES, type OneDriveOptions, resolveOptions, SCOPE, tokenUrl } from './options.js';
import { registerQuickXorHash } from './register-hash.js';
import { graphUploadProtocol, readItemWithHash } from './upload-session.js';

/** Slowest link we still expect to move a fragment over before calling it stuck (64 KiB/s). */
const MIN_BYTES_PER_MS = 64;
/** Collision counters tried before letting OneDrive pick the name. */
const MAX_COUNTER = 50;

interface Planned {
  resource: Resource;
  path: string;
  existing?: DriveItem;
  /** Local hashes, when they had to be computed to compare with `existing`. */
  local?: { sha256: string; quickXorHash: string };
  same: boolean;
}

export interface OneDriveSinkDeps {
  /** Clients to use instead of building them (tests, benchmarks). */
  graph?: HttpClient;
  upload?: HttpClient;
}

/**
 * The `onedrive` sink: files go to `{path template}/{name}` in the signed-in user's drive
 * (`/me/drive`, personal or business), through upload sessions (resumable across runs) or one PUT
 * for small files, each verified by QuickXorHash against what Graph reports.
 */
export async function createOneDriveSink(input: Partial<OneDriveOptions> & { clientId: string }, fctx: FactoryContext, deps: OneDriveSinkDeps = {}): Promise<Sink> {
  const o = resolveOptions(input);
  checkPathTemplate(o.path);
  // The sink hashes with quickXorHash even when created without activating the plugin.
  registerQuickXorHash();
  const logger = fctx.logger.child({ sink: 'onedrive' });
  const store = await oneDriveTokenStore(o, fctx);
  const tokenHttp = createHttpClient({ service: 'Microsoft sign-in', sink: 'onedrive', logger });
  const auth = createTokenProvider({ sink: 'onedrive', store, tokenUrl: tokenUrl(o), clientId: o.clientId, scope: SCOPE, http: tokenHttp, logger });
  const graph = deps.graph ?? createHttpClient({ service: 'OneDrive', sink: 'onedrive', auth, concurrency: o.concurrency + 2, logger });
  // The upload URL is pre-authenticated: this client never sends a token.
  const upload = deps.upload ?? createHttpClient({ service: 'OneDrive', sink: 'onedrive', concurrency: o.concurrency, logger });
  const api = (p: string) => `${o.endpoint}/me/drive/${p}`;

  const drive = await graph.json<Drive>({ method: 'GET', url: `${o.endpoint}/me/drive`, signal: fctx.signal });
  const key = `onedrive:${o.endpoint}:${drive.id}`;
  logger.debug('drive', { id: drive.id, type: drive.driveType });

  const getByPath = async (path: string, signal: AbortSignal) => {
    const res = await graph.request({ method: 'GET', url: api(itemPathSegment(path)), accept: [404], signal });
    return res.status === 404 ? undefined : res.json<DriveItem>();
  };

  /** sha256 + quickXorHash of a resource, read locally (only to compare with a remote file). */
  const hashLocal = async (r: Resource, signal: AbortSignal) => {
    const sha = createHasher('sha256');
    const qx = createHasher('quickXorHash');
    for await (const chunk of r.open({ signal })) {
      sha.update(chunk);
      qx.update(chunk);
    }
    return { sha256: sha.digest(), quickXorHash: qx.digest() };
  };

  /** Target paths for every part of the asset: same counter for all parts so Live Photo pairs keep one base name. */
  const plan = async (asset: Asset, signal: AbortSignal): Promise<Planned[]> => {
    const folder = renderFolder(o.path, asset);
    const local = new Map<Resource, { sha256: string; quickXorHash: string }>();
    for (let n = 1; ; n++) {
      const planned: Planned[] = [];
      let clash: Planned | undefined;
      for (const resource of asset.resources) {
        const path = fitPath(folder, resourceFileName(asset, resource, n));
        // A file of this size without a hash yet may be our own upload from a moment ago (business
        // drives add the hash later; a run that died after the last fragment): wait for its hash
        // rather than take it for a different file and rename around it.
        const existing = await readItemWithHash(() => getByPath(path, signal), resource.size!, signal);
        let same = false;
        if (existing?.file && existing.size === resource.size && existing.file.hashes?.quickXorHash) {
          if (!local.has(resource)) local.set(resource, await hashLocal(resource, signal));
          same = local.get(resource)!.quickXorHash === existing.file.hashes.quickXorHash;
        }
        const p: Planned = { resource, path, existing, local: local.get(resource), same };
        if (existing && !same) clash ??= p;
        planned.push(p);
      }
      if (!clash || o.conflict === 'replace') return planned;
      if (o.conflict === 'fail') {
        throw SinkError.alreadyExists(`OneDrive file ${clash.path}`, { classification: 'permanent', location: clash.path, hint: 'Set conflict: rename to keep both, or move the remote file away.' });
      }
      // Server-side rename is the last resort: it may split a Live Photo's base names.
      if (n >= MAX_COUNTER) return planned;
    }
  };

  const received = (item: DriveItem, expectedQx: string, size: number, path: string): boolean => {
    const remote = item.file?.hashes?.quickXorHash;
    if (item.size !== undefined && item.size !== size) {
      throw new KeepsakeError('VERIFY_MISMATCH', `OneDrive stored ${item.size} bytes of ${size} for ${path}`, { classification: 'retryable', location: path });
    }
    if (!remote) return false;
    if (remote !== expectedQx) throw SinkError.verifyMismatch(`OneDrive file ${path}`, expectedQx, remote, { location: path });
    return true;
  };

  /** Small files (and 0-byte files, which sessions cannot carry): one PUT, then the dates. */
  const simplePut = async (p: Planned, asset: Asset, ctx: PutContext) => {
    const r = p.resource;
    const chunks: Uint8Array[] = [];
    const sha = createHasher('sha256');
    const qx = createHasher('quickXorHash');
    let size = 0;
    for await (const chunk of r.open({ signal: ctx.signal })) {
      sha.update(chunk);
      qx.update(chunk);
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size > o.simpleUploadMaxBytes && size > 0) break;
    }
    if (size !== r.size) throw new KeepsakeError('SOURCE_ITEM_CHANGED', `${r.name} is now ${size} bytes; ${r.size} were expected`, { classification: 'retryable' });
    const body = Buffer.concat(chunks, size);
    let item = await graph.json<DriveItem>({
      method: 'PUT',
      url: `${api(itemPathSegment(p.path))}/content?@microsoft.graph.conflictBehavior=${o.conflict}`,
      headers: { 'content-type': 'application/octet-stream' },
      body,
      // A PUT that reached the server but lost its answer must not create "name 1.ext": the
      // pipeline retries the asset, which then finds this file by hash.
      retry: false,
      signal: ctx.signal,
    });
    ctx.onProgress(size);
    const fsi = fileSystemInfoFor(asset, r);
    if (fsi) {
      item = await graph.json<DriveItem>({ method: 'PATCH', url: api(`items/${encodeURIComponent(item.id)}`), json: { fileSystemInfo: fsi }, retry: true, signal: ctx.signal });
    }
    return { item, hashes: { sha256: sha.digest(), quickXorHash: qx.digest() } };
  };

  const sessionPut = async (p: Planned, asset: Asset, ctx: PutContext) => {
    const r = p.resource;
    const size = r.size!;
    const fragmentTimeoutMs = 30_000 + Math.ceil(o.fragmentSize / MIN_BYTES_PER_MS);
    const protocol = graphUploadProtocol({
      graph,
      upload,
      itemUrl: api(itemPathSegment(p.path)),
      conflict: o.conflict,
      fileSystemInfo: fileSystemInfoFor(asset, r),
      fragmentTimeoutMs,
    });
    const res = await resumableUpload({
      protocol,
      open: r.open,
      size,
      fragmentSize: o.fragmentSize,
      resume: ctx.resume,
      resumeKey: r.key,
      fingerprint: `${r.sha256 ?? `${size}:${r.mtimeMs}`}|${p.path}|${o.conflict}`,
      hashes: ['sha256', 'quickXorHash'],
      signal: ctx.signal,
      onProgress: ctx.onProgress,
      logger: ctx.logger,
    });
    return { item: res.result, hashes: { sha256: res.hashes.sha256!, quickXorHash: res.hashes.quickXorHash! } };
  };

  const putOne = async (p: Planned, asset: Asset, ctx: PutContext): Promise<StoredResource> => {
    const r = p.resource;
    if (p.same && p.existing && p.local) {
      ctx.logger.info('already in OneDrive with the same QuickXorHash', { path: p.path });
      return {
        resourceKey: r.key,
        role: r.role,
        name: r.name,
        location: p.path,
        remoteId: p.existing.id,
        size: r.size!,
        hashes: p.local,
        verified: true,
        deduped: true,
      };
    }
    const size = r.size!;
    const { item: first, hashes } = size <= o.simpleUploadMaxBytes ? await simplePut(p, asset, ctx) : await sessionPut(p, asset, ctx);
    let item = first;
    let verified: boolean;
    try {
      verified = received(item, hashes.quickXorHash, size, p.path);
      if (!verified) {
        // Graph may add hashes a moment after the upload (business drives): read the item again.
        item = await graph.json<DriveItem>({ method: 'GET', url: api(`items/${encodeURIComponent(item.id)}`), signal: ctx.signal });
        verified = received(item, hashes.quickXorHash, size, p.path);
      }
    } catch (err) {
      // Our own upload arrived damaged: remove it so the retry does not leave a second copy. Never
      // when it replaced a file that was there before (conflict: replace): that one stays, with
      // its previous content in OneDrive's version history.
      if (!p.existing) {
        await graph.request({ method: 'DELETE', url: api(`items/${encodeURIComponent(item.id)}`), accept: [404], signal: ctx.signal }).catch(() => {});
      }
      throw err;
    }
    const folder = p.path.includes('/') ? p.path.slice(0, p.path.lastIndexOf('/') + 1) : '';
    return {
      resourceKey: r.key,
      role: r.role,
      name: r.name,
      location: folder + item.name,
      remoteId: item.id,
      size,
      hashes,
      verified,
    };
  };

  return {
    key,
    capabilities: defineCapabilities({
      hashes: ['quickXorHash'],
      resumableUpload: true,
      atomicWrite: true,
      serverSideDedupe: 'none',
      maxItemBytes: MAX_FILE_BYTES,
      maxConcurrency: o.concurrency,
      preservesCaptureDate: true,
      livePhotoPairs: true,
      offsite: true,
      canVerify: true,
    }),

    async put(asset, ctx): Promise<Receipt> {
      for (const r of asset.resources) {
        if (r.size === undefined) {
          throw new KeepsakeError('NOT_SUPPORTED', `${r.name} has no known size; OneDrive uploads need it up front`, { classification: 'permanent', resource: r.key });
        }
        if (r.size > MAX_FILE_BYTES) {
          throw SinkError.tooLarge(r.name, r.size, MAX_FILE_BYTES, {
            classification: 'permanent',
            resource: r.key,
            hint: 'OneDrive accepts files up to 250 GB; send this one to a folder sink instead.',
          });
        }
      }
      throwIfAborted(ctx.signal);
      try {
        const planned = await plan(asset, ctx.signal);
        const items: StoredResource[] = [];
        for (const p of planned) items.push(await putOne(p, asset, ctx));
        return { items };
      } catch (err) {
        // A source honouring the signal throws a DOMException; report it as keepsake's ABORTED.
        if (ctx.signal.aborted && !isKeepsakeError(err)) throw abortError(ctx.signal.reason);
        throw err;
      }
    },

    async verify(item, ctx): Promise<VerifyResult> {
      if (!item.remoteId) return { status: 'unverifiable', detail: 'no OneDrive item id recorded' };
      const res = await graph.request({ method: 'GET', url: api(`items/${encodeURIComponent(item.remoteId)}`), accept: [404], signal: ctx.signal });
      if (res.status === 404) return { status: 'missing', detail: `OneDrive item ${item.location} is gone` };
      const remote = res.json<DriveItem>();
      const qx = remote.file?.hashes?.quickXorHash;
      if (!qx) return { status: 'unverifiable', detail: 'OneDrive reports no quickXorHash for this item' };
      const expected = item.hashes.quickXorHash;
      if (!expected) return { status: 'unverifiable', detail: 'no quickXorHash recorded at delivery', actual: { quickXorHash: qx } };
      if (qx !== expected || (remote.size !== undefined && remote.size !== item.size)) {
        return { status: 'corrupt', detail: `OneDrive has quickXorHash ${qx} (${remote.size} bytes); delivered ${expected} (${item.size} bytes)`, actual: { quickXorHash: qx } };
      }
      return { status: 'ok', actual: { quickXorHash: qx } };
    },

    async close() {
      await Promise.all([graph.close(), upload.close(), tokenHttp.close()]);
    },
  };
}
