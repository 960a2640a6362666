/**
 * A local fake of the Microsoft Graph endpoints the onedrive sink uses, plus the identity
 * platform's device code and token endpoints — node:http on 127.0.0.1 only. Keeps no file bytes
 * (sizes and incremental hashes only) so benchmarks can push gigabytes through it.
 *
 * Erasable TypeScript only (runs under `node` with type stripping for the benchmarks); node
 * built-ins only. Pass a QuickXorHash factory (the package's own class) in `options.quickXorHash`.
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DigestHasher {
  update(chunk: Uint8Array): void;
  digest(): string;
}

export interface FakeItem {
  id: string;
  name: string;
  /** Parent folder path, no leading slash ('' = root). */
  parent: string;
  size: number;
  quickXorHash: string;
  sha256: string;
  fileSystemInfo: { createdDateTime?: string; lastModifiedDateTime?: string };
  folder?: boolean;
  /** Reads left that answer without `file.hashes` (business drives add the hash a moment later). */
  hashHiddenReads?: number;
}

export interface FakeSession {
  id: string;
  parent: string;
  name: string;
  conflict: string;
  fileSystemInfo: FakeItem['fileSystemInfo'];
  total: number | undefined;
  offset: number;
  qx: DigestHasher;
  sha: Hash;
  gone: boolean;
  /** Every fragment received: [start, length]. */
  fragments: [number, number][];
}

/** A scripted answer for the next requests that match. */
export interface Fault {
  /** Which requests: 'api' (Graph calls with a token), 'upload' (upload URLs), 'token', or a predicate. */
  match: 'api' | 'upload' | 'token' | ((req: IncomingMessage) => boolean);
  /** How many matching requests get this answer (default 1). */
  times?: number;
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Store a fragment (and commit the file when it was the last), then destroy the socket (the answer is lost). */
  acceptThenDrop?: boolean;
  /** Destroy the socket without reading the request. */
  reset?: boolean;
}

export interface FakeGraphOptions {
  quickXorHash: () => DigestHasher;
  /** Shared upload bandwidth for request bodies in bytes/s (benchmarks); unlimited when absent. */
  bytesPerSecond?: number;
  /** Added before every answer (benchmarks: 50 ms). */
  latencyMs?: number;
  /** Polls answered `authorization_pending` before the device login succeeds. */
  pendingPolls?: number;
  /** Lifetime given to access tokens, seconds (default 3600). */
  accessTokenLifetimeS?: number;
}

const UNIT = 320 * 1024;
/** Depth of the bandwidth token bucket: how far a slow reader may catch up. */
const BURST_MS = 250;

export async function startFakeGraph(options: FakeGraphOptions) {
  const items = new Map<string, FakeItem>();
  const sessions = new Map<string, FakeSession>();
  const accessTokens = new Set<string>();
  const refreshTokens = new Set<string>();
  const deviceCodes = new Map<string, number>();
  const faults: Fault[] = [];
  const log: { method: string; path: string; auth: boolean; status: number; range?: string }[] = [];
  const stats = { uploadBytes: 0, maxUploadBodyBytes: 0, tokenRequests: 0, refreshes: 0 };
  let seq = 0;
  let corruptNext = 0;
  let hiddenHashReads = 0;
  let nextFreeAt = 0;
  const driveId = 'fake-drive-1';
  let base = '';

  /** The hash a committed file reports: wrong on purpose while `corruptNext` > 0. */
  const reportedHash = (real: string) => {
    if (corruptNext <= 0) return real;
    corruptNext--;
    return 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=';
  };
  const newId = () => `ID${(++seq).toString(36).toUpperCase()}`;
  const pathKey = (parent: string, name: string) => `${parent}/${name}`.toLowerCase();
  const issueTokens = () => {
    const access = `at-${randomBytes(6).toString('hex')}`;
    const refresh = `rt-${randomBytes(6).toString('hex')}`;
    accessTokens.add(access);
    refreshTokens.add(refresh);
    return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: options.accessTokenLifetimeS ?? 3600, scope: 'Files.ReadWrite' };
  };
  /** An item's JSON; `read` counts a GET against the reads that still hide the hash. */
  const itemJson = (it: FakeItem, read = false) => {
    const hidden = (it.hashHiddenReads ?? 0) > 0;
    if (hidden && read) it.hashHiddenReads!--;
    return {
      id: it.id,
      name: it.name,
      size: it.size,
      parentReference: { driveId, path: `/drive/root:${it.parent ? `/${it.parent}` : ''}` },
      ...(it.folder
        ? { folder: { childCount: 0 } }
        : { file: { mimeType: 'application/octet-stream', ...(hidden ? {} : { hashes: { quickXorHash: it.quickXorHash } }) } }),
      fileSystemInfo: it.fileSystemInfo,
    };
  };

  function ensureFolders(parent: string) {
    const parts = parent.split('/').filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      const k = pathKey(p, parts[i]!);
      if (!items.has(k)) items.set(k, { id: newId(), name: parts[i]!, parent: p, size: 0, quickXorHash: '', sha256: '', fileSystemInfo: {}, folder: true });
    }
  }

  /** Applies conflictBehavior; returns the item or a 409. */
  function commit(parent: string, name: string, conflict: string, data: Omit<FakeItem, 'id' | 'name' | 'parent'>): FakeItem | 409 {
    ensureFolders(parent);
    let finalName = name;
    const existing = items.get(pathKey(parent, name));
    if (existing) {
      if (conflict === 'fail') return 409;
      if (conflict === 'rename') {
        const dot = name.lastIndexOf('.');
        const [b, e] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
        for (let n = 1; items.has(pathKey(parent, finalName)); n++) finalName = `${b} ${n}${e}`;
      }
    }
    const replaced = conflict === 'replace' ? existing : undefined;
    const it: FakeItem = { id: replaced?.id ?? newId(), name: finalName, parent, ...data, hashHiddenReads: hiddenHashReads };
    items.set(pathKey(parent, finalName), it);
    return it;
  }

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const go = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text);
    };
    if (options.latencyMs) setTimeout(go, options.latencyMs);
    else go();
  };
  const graphError = (res: ServerResponse, status: number, code: string, message = code, headers?: Record<string, string>) =>
    send(res, status, { error: { code, message } }, headers);

  /** Reads a body, shaping it to the shared bandwidth when configured. Large bodies are streamed to `onChunk`. */
  function readBody(req: IncomingMessage, onChunk?: (c: Buffer) => void): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (onChunk) onChunk(c);
        else chunks.push(c);
        if (options.bytesPerSecond) {
          // A token bucket BURST_MS deep (like `tc tbf` with a burst): time the link sat idle because
          // this process was slow to read is not lost beyond that depth, the average rate never exceeds bps.
          const now = performance.now();
          const start = Math.max(now - BURST_MS, nextFreeAt);
          nextFreeAt = start + (c.length / options.bytesPerSecond) * 1000;
          const wait = nextFreeAt - now;
          // Let a body run at most ~25 ms ahead of the schedule: pausing per chunk would make the
          // shaping depend on timer precision (and on how busy the machine is).
          if (wait > 25) {
            req.pause();
            setTimeout(() => req.resume(), wait);
          }
        }
      });
      let ended = false;
      req.on('end', () => {
        ended = true;
        resolve(onChunk ? Buffer.alloc(0) : Buffer.concat(chunks, size));
      });
      req.on('error', reject);
      // A client that dies mid-body: the partial body is discarded, like the real service does.
      req.on('close', () => {
        if (!ended) reject(new Error('request body incomplete'));
      });
    });
  }

  const authorized = (req: IncomingMessage) => {
    const h = req.headers.authorization;
    return !!h && h.startsWith('Bearer ') && accessTokens.has(h.slice(7));
  };

  function takeFault(req: IncomingMessage, kind: 'api' | 'upload' | 'token'): Fault | undefined {
    const i = faults.findIndex((f) => (typeof f.match === 'function' ? f.match(req) : f.match === kind));
    if (i < 0) return undefined;
    const f = faults[i]!;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) faults.splice(i, 1);
    return f;
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse, url: URL) {
    const form = Object.fromEntries(new URLSearchParams((await readBody(req)).toString()));
    stats.tokenRequests++;
    if (url.pathname.endsWith('/devicecode')) {
      if (!form.client_id) return send(res, 400, { error: 'invalid_request', error_description: 'client_id missing' });
      const code = `dc-${randomBytes(4).toString('hex')}`;
      deviceCodes.set(code, options.pendingPolls ?? 1);
      return send(res, 200, {
        device_code: code,
        user_code: 'FAKE-CODE',
        verification_uri: 'https://microsoft.com/devicelogin',
        expires_in: 900,
        interval: 1,
        message: 'To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FAKE-CODE to authenticate.',
      });
    }
    if (form.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
      const left = deviceCodes.get(form.device_code ?? '');
      if (left === undefined) return send(res, 400, { error: 'expired_token' });
      if (left > 0) {
        deviceCodes.set(form.device_code!, left - 1);
        return send(res, 400, { error: 'authorization_pending', error_description: 'AADSTS70016: pending' });
      }
      deviceCodes.delete(form.device_code!);
      return send(res, 200, issueTokens());
    }
    if (form.grant_type === 'refresh_token') {
      if (!refreshTokens.has(form.refresh_token ?? '')) {
        return send(res, 400, { error: 'invalid_grant', error_description: 'AADSTS70008: The provided authorization code or refresh token has expired or been revoked.' });
      }
      stats.refreshes++;
      // Microsoft rotates refresh tokens: the old one stops working.
      refreshTokens.delete(form.refresh_token!);
      return send(res, 200, issueTokens());
    }
    send(res, 400, { error: 'unsupported_grant_type' });
  }

  async function handleUpload(req: IncomingMessage, res: ServerResponse, id: string) {
    if (req.headers.authorization) {
      await readBody(req);
      return graphError(res, 401, 'unauthenticated', 'Authorization header must not be sent to the upload URL');
    }
    const s = sessions.get(id);
    if (!s || s.gone) {
      await readBody(req);
      return graphError(res, 404, 'itemNotFound', 'The upload session was not found');
    }
    const status = () => ({ expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(), nextExpectedRanges: [`${s.offset}-${s.total === undefined ? '' : s.total - 1}`] });
    if (req.method === 'GET') return send(res, 200, status());
    if (req.method === 'DELETE') {
      s.gone = true;
      return send(res, 204);
    }
    if (req.method !== 'PUT') return graphError(res, 405, 'invalidRequest');
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
    const length = Number(req.headers['content-length']);
    if (!m) {
      await readBody(req);
      return graphError(res, 400, 'invalidRange', 'Content-Range missing');
    }
    const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (end - start + 1 !== length) {
      await readBody(req);
      return graphError(res, 400, 'invalidRange', 'Content-Range does not match Content-Length');
    }
    if (length > 60 * 1024 * 1024 || (end + 1 < total && length % UNIT !== 0)) {
      await readBody(req);
      return graphError(res, 400, 'invalidRange', 'Fragments must be a multiple of 320 KiB and under 60 MiB');
    }
    if (start !== s.offset || (s.total !== undefined && s.total !== total)) {
      await readBody(req);
      return graphError(res, 416, 'invalidRange', 'The uploaded fragment overlaps with data that has already been received');
    }
    s.total = total;
    const fault = takeFault(req, 'upload');
    if (fault?.reset) return req.socket.destroy();
    if (fault && !fault.acceptThenDrop) {
      await readBody(req);
      return send(res, fault.status ?? 500, fault.body ?? { error: { code: 'fault' } }, fault.headers);
    }
    // Hash only complete fragments: a fragment cut off mid-body is not received at all.
    const body = await readBody(req).catch(() => undefined);
    if (!body) return;
    const got = body.length;
    s.qx.update(body);
    s.sha.update(body);
    stats.uploadBytes += got;
    stats.maxUploadBodyBytes = Math.max(stats.maxUploadBodyBytes, got);
    s.fragments.push([start, got]);
    s.offset += got;
    if (s.offset < total) return fault?.acceptThenDrop ? req.socket.destroy() : send(res, 202, status());
    // The last byte completes the session: the file is committed even when the answer is lost.
    s.gone = true;
    const it = commit(s.parent, s.name, s.conflict, {
      size: total,
      quickXorHash: reportedHash(s.qx.digest()),
      sha256: s.sha.digest('hex'),
      fileSystemInfo: s.fileSystemInfo,
    });
    if (fault?.acceptThenDrop) return req.socket.destroy();
    if (it === 409) return graphError(res, 409, 'nameAlreadyExists', 'The specified item name already exists');
    send(res, 201, itemJson(it));
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL) {
    const fault = takeFault(req, 'api');
    if (fault?.reset) return req.socket.destroy();
    if (!authorized(req)) {
      await readBody(req);
      return graphError(res, 401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.');
    }
    if (fault) {
      await readBody(req);
      return send(res, fault.status ?? 500, fault.body ?? { error: { code: 'fault' } }, fault.headers);
    }
    const p = decodeURIComponent(url.pathname.replace(/^\/v1\.0/, ''));
    if (req.method === 'GET' && p === '/me/drive') return send(res, 200, { id: driveId, driveType: 'personal' });
    const byPath = /^\/me\/drive\/root:\/(.+?):?(\/content|\/createUploadSession)?$/.exec(p);
    if (byPath) {
      const full = byPath[1]!.replace(/:$/, '');
      const slash = full.lastIndexOf('/');
      const parent = slash < 0 ? '' : full.slice(0, slash);
      const name = full.slice(slash + 1);
      if (byPath[2] === '/content' && req.method === 'PUT') {
        const body = await readBody(req);
        if (body.length > 4 * 1024 * 1024) return graphError(res, 413, 'requestTooLarge', 'Use an upload session for files over 4 MB');
        const qx = options.quickXorHash();
        qx.update(body);
        const it = commit(parent, name, url.searchParams.get('@microsoft.graph.conflictBehavior') ?? 'replace', {
          size: body.length,
          quickXorHash: reportedHash(qx.digest()),
          sha256: createHash('sha256').update(body).digest('hex'),
          fileSystemInfo: { createdDateTime: new Date().toISOString(), lastModifiedDateTime: new Date().toISOString() },
        });
        if (it === 409) return graphError(res, 409, 'nameAlreadyExists');
        return send(res, 201, itemJson(it));
      }
      if (byPath[2] === '/createUploadSession' && req.method === 'POST') {
        const body = JSON.parse((await readBody(req)).toString() || '{}') as { item?: Record<string, any> };
        const id = `S${(++seq).toString(36)}`;
        sessions.set(id, {
          id,
          parent,
          name,
          conflict: body.item?.['@microsoft.graph.conflictBehavior'] ?? url.searchParams.get('@microsoft.graph.conflictBehavior') ?? 'replace',
          fileSystemInfo: body.item?.fileSystemInfo ?? {},
          total: undefined,
          offset: 0,
          qx: options.quickXorHash(),
          sha: createHash('sha256'),
          gone: false,
          fragments: [],
        });
        return send(res, 200, {
          uploadUrl: `${base}/upload/${id}?tempauth=secret-${id}`,
          expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
          nextExpectedRanges: ['0-'],
        });
      }
      await readBody(req);
      if (req.method === 'GET') {
        const it = items.get(pathKey(parent, name));
        return it ? send(res, 200, itemJson(it, true)) : graphError(res, 404, 'itemNotFound', 'The resource could not be found.');
      }
      return graphError(res, 405, 'invalidRequest');
    }
    const byId = /^\/me\/drive\/items\/([^/]+)$/.exec(p);
    if (byId) {
      const entry = [...items.entries()].find(([, it]) => it.id === byId[1]);
      const body = await readBody(req);
      if (!entry) return graphError(res, 404, 'itemNotFound');
      const [k, it] = entry;
      if (req.method === 'GET') return send(res, 200, itemJson(it, true));
      if (req.method === 'DELETE') {
        items.delete(k);
        return send(res, 204);
      }
      if (req.method === 'PATCH') {
        const patch = JSON.parse(body.toString() || '{}') as { fileSystemInfo?: FakeItem['fileSystemInfo'] };
        if (patch.fileSystemInfo) it.fileSystemInfo = { ...it.fileSystemInfo, ...patch.fileSystemInfo };
        return send(res, 200, itemJson(it));
      }
    }
    await readBody(req);
    graphError(res, 400, 'invalidRequest', `fake graph does not know ${req.method} ${p}`);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const record = (status: number) =>
      log.push({ method: req.method ?? '', path: url.pathname, auth: !!req.headers.authorization, status, range: req.headers['content-range'] as string | undefined });
    const origWriteHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: any[]) => {
      record(status);
      return origWriteHead(status, ...rest);
    }) as typeof res.writeHead;
    let p: Promise<unknown>;
    if (url.pathname.includes('/oauth2/v2.0/')) {
      const f = takeFault(req, 'token');
      if (f) {
        p = readBody(req).then(() => send(res, f.status ?? 500, f.body ?? {}, f.headers));
      } else p = handleToken(req, res, url);
    } else if (url.pathname.startsWith('/upload/')) p = handleUpload(req, res, url.pathname.slice('/upload/'.length));
    else p = handleApi(req, res, url);
    p.catch((err) => {
      if (!res.headersSent) graphError(res, 500, 'fakeError', String(err));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    /** Base URL; the Graph endpoint is `${url}/v1.0`, the authority is `url`. */
    url: base,
    endpoint: `${base}/v1.0`,
    driveId,
    items,
    sessions,
    log,
    stats,
    /** Queue a scripted answer. */
    fault(f: Fault) {
      faults.push(f);
    },
    pendingFaults: () => faults.length,
    /** The next N committed files report a wrong quickXorHash. */
    corruptNextHashes(n = 1) {
      corruptNext = n;
    },
    /**
     * Files committed from now on behave like a business drive's: the upload's answer and the
     * first `reads` GETs of the item carry no `file.hashes` (0 = personal drive, hash at once).
     */
    delayHashes(reads: number) {
      hiddenHashReads = reads;
    },
    /** A signed-in user's tokens, as a device login would have stored them. */
    issueTokens,
    /** Access tokens stop working (expiry before their stated time): clients must refresh. */
    expireAccessTokens() {
      accessTokens.clear();
    },
    /** The user revoked keepsake's access: access and refresh tokens stop working. */
    revokeAll() {
      accessTokens.clear();
      refreshTokens.clear();
    },
    /** Upload sessions vanish (expiry): the next fragment or status query answers 404. */
    expireSessions() {
      for (const s of sessions.values()) s.gone = true;
    },
    /** Puts a file at a path (a pre-existing remote file). */
    putFile(path: string, bytes: Uint8Array) {
      const slash = path.lastIndexOf('/');
      const qx = options.quickXorHash();
      qx.update(bytes);
      const it = commit(slash < 0 ? '' : path.slice(0, slash), path.slice(slash + 1), 'replace', {
        size: bytes.length,
        quickXorHash: qx.digest(),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        fileSystemInfo: {},
      }) as FakeItem;
      // A file that was there before has had its hash for a long time.
      it.hashHiddenReads = 0;
      return it;
    },
    file(path: string): FakeItem | undefined {
      const slash = path.lastIndexOf('/');
      return items.get(pathKey(slash < 0 ? '' : path.slice(0, slash), path.slice(slash + 1)));
    },
    files(): (FakeItem & { path: string })[] {
      return [...items.values()].filter((i) => !i.folder).map((i) => ({ ...i, path: i.parent ? `${i.parent}/${i.name}` : i.name }));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export type FakeGraph = Awaited<ReturnType<typeof startFakeGraph>>;
