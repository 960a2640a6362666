/**
 * Test helper (not exported from the package): a local stand-in for Google's OAuth endpoints and
 * the Photos Library API on 127.0.0.1, implementing the documented wire protocol (raw and
 * resumable uploads with X-Goog-Upload-* headers, batchCreate with per-item status, albums,
 * mediaItems.get) with switches to inject the failures keepsake must survive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMediaItem {
  id: string;
  filename: string;
  mimeType: string;
  productUrl: string;
  description?: string;
  albumId?: string;
  sha256: string;
  size: number;
}

interface Upload {
  sha256: string;
  size: number;
  mimeType: string;
  used: boolean;
}

interface Session {
  id: string;
  size: number;
  mimeType: string;
  chunks: Buffer[];
  received: number;
  token?: string;
}

export interface FakeGooglePhotos {
  url: string;
  clientId: string;
  clientSecret: string;
  items: FakeMediaItem[];
  albums: { id: string; title: string }[];
  /** Sizes of every batchCreate call, in order. */
  batchSizes: number[];
  /** Largest number of batchCreate calls seen in flight at once. */
  maxConcurrentBatches: number;
  counts: { rawUploads: number; resumableStarts: number; chunks: number; queries: number; refreshes: number; tokenExchanges: number; gets: number };
  /** File names whose batchCreate item fails with INVALID_ARGUMENT. */
  failFileNames: Set<string>;
  /** After this many successful uploads (raw or resumable finalize), further uploads get 429 RESOURCE_EXHAUSTED. */
  quotaAfterUploads: number;
  /** Answer the next upload with the 400 UploadsPerMinute error. */
  uploadsPerMinuteOnce: boolean;
  /** Answer the next N requests to these paths with 429 RESOURCE_EXHAUSTED (per-minute limit) and this Retry-After. */
  rateLimit: { paths: string[]; times: number; retryAfterSeconds: number };
  /** Requests answered 429 by `rateLimit`, by path. */
  rateLimited: string[];
  /** Answer the next batchCreate calls, one entry each, with these whole-call errors (before anything else is checked). */
  batchCreateErrors: { status: number; reason: string; message: string }[];
  /** albums.list answers without any album (a listing that does not see them, e.g. one not yet consistent). */
  hideAlbumsFromList: boolean;
  /** Called for each resumable chunk before it is stored; return 'hang' to never answer (the client was "killed"). */
  onChunk?: (info: { offset: number; length: number; total: number }) => 'ok' | 'hang';
  chunkGranularity: number;
  /** Make every issued access token invalid (as if expired server-side). */
  expireAccessTokens(): void;
  /** Issue a refresh token directly (tests that skip the browser login). */
  issueRefreshToken(): string;
  close(): Promise<void>;
}

export async function startFakeGooglePhotos(): Promise<FakeGooglePhotos> {
  const clientId = 'test-client.apps.googleusercontent.com';
  const clientSecret = 'GOCSPX-test-secret';
  const accessTokens = new Set<string>();
  const refreshTokens = new Set<string>();
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const uploads = new Map<string, Upload>();
  const sessions = new Map<string, Session>();
  let batchesInFlight = 0;
  let uploadsDone = 0;
  const hanging: ServerResponse[] = [];

  const fake: FakeGooglePhotos = {
    url: '',
    clientId,
    clientSecret,
    items: [],
    albums: [],
    batchSizes: [],
    maxConcurrentBatches: 0,
    counts: { rawUploads: 0, resumableStarts: 0, chunks: 0, queries: 0, refreshes: 0, tokenExchanges: 0, gets: 0 },
    failFileNames: new Set(),
    quotaAfterUploads: Number.POSITIVE_INFINITY,
    uploadsPerMinuteOnce: false,
    rateLimit: { paths: [], times: 0, retryAfterSeconds: 1 },
    rateLimited: [],
    chunkGranularity: 1024,
    batchCreateErrors: [],
    hideAlbumsFromList: false,
    expireAccessTokens: () => accessTokens.clear(),
    issueRefreshToken() {
      const t = `rt-${randomBytes(8).toString('hex')}`;
      refreshTokens.add(t);
      return t;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const googleError = (res: ServerResponse, status: number, statusText: string, message: string) =>
    json(res, status, { error: { code: status, message, status: statusText } });
  const authorized = (req: IncomingMessage) => accessTokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  const newAccessToken = () => {
    const t = `at-${randomBytes(8).toString('hex')}`;
    accessTokens.add(t);
    return t;
  };
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  /** Quota checks shared by raw uploads and resumable starts. */
  const quotaRefused = (res: ServerResponse): boolean => {
    if (fake.uploadsPerMinuteOnce) {
      fake.uploadsPerMinuteOnce = false;
      googleError(res, 400, 'INVALID_ARGUMENT', "Quota exceeded for quota metric 'Upload requests' and limit 'UploadsPerMinute' of service 'photoslibrary.googleapis.com'");
      return true;
    }
    if (uploadsDone >= fake.quotaAfterUploads) {
      googleError(res, 429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'All requests' and limit 'All requests per day'");
      return true;
    }
    return false;
  };
  const finishUpload = (bytes: Buffer, mimeType: string): string => {
    const token = `ut-${randomBytes(12).toString('base64url')}`;
    uploads.set(token, { sha256: sha(bytes), size: bytes.byteLength, mimeType, used: false });
    uploadsDone++;
    return token;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', fake.url);
    const h = (name: string) => String(req.headers[name] ?? '');

    // ── OAuth ──
    if (url.pathname === '/authorize' && req.method === 'GET') {
      const q = url.searchParams;
      if (q.get('client_id') !== clientId || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return res.writeHead(400).end('bad request');
      if (!q.get('scope')?.includes('photoslibrary.appendonly')) return res.writeHead(400).end('missing scope');
      const code = `code-${randomBytes(8).toString('hex')}`;
      codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')! });
      const target = new URL(q.get('redirect_uri')!);
      target.searchParams.set('code', code);
      target.searchParams.set('state', q.get('state') ?? '');
      return res.writeHead(302, { location: target.toString() }).end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body.toString('utf8'));
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) return json(res, 401, { error: 'invalid_client' });
      if (form.get('grant_type') === 'authorization_code') {
        fake.counts.tokenExchanges++;
        const c = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!c || c.redirectUri !== form.get('redirect_uri') || createHash('sha256').update(verifier).digest('base64url') !== c.challenge) {
          return json(res, 400, { error: 'invalid_grant', error_description: 'Bad code or PKCE verifier' });
        }
        return json(res, 200, { access_token: newAccessToken(), refresh_token: fake.issueRefreshToken(), expires_in: 3599, token_type: 'Bearer' });
      }
      if (form.get('grant_type') === 'refresh_token') {
        fake.counts.refreshes++;
        if (!refreshTokens.has(form.get('refresh_token') ?? '')) return json(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
        return json(res, 200, { access_token: newAccessToken(), expires_in: 3599, token_type: 'Bearer' });
      }
      return json(res, 400, { error: 'unsupported_grant_type' });
    }

    if (!authorized(req)) return googleError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');

    // a short-term rate limit: Google's 429 RESOURCE_EXHAUSTED, here with a Retry-After to wait out
    if (fake.rateLimit.times > 0 && fake.rateLimit.paths.includes(url.pathname)) {
      fake.rateLimit.times--;
      fake.rateLimited.push(url.pathname);
      return json(
        res,
        429,
        { error: { code: 429, message: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user'", status: 'RESOURCE_EXHAUSTED' } },
        { 'retry-after': String(fake.rateLimit.retryAfterSeconds) },
      );
    }

    // ── uploads ──
    if (url.pathname === '/v1/uploads' && req.method === 'POST') {
      const protocol = h('x-goog-upload-protocol');
      if (quotaRefused(res)) return;
      if (protocol === 'raw') {
        fake.counts.rawUploads++;
        return res.writeHead(200, { 'content-type': 'text/plain' }).end(finishUpload(body, h('x-goog-upload-content-type')));
      }
      if (protocol === 'resumable' && h('x-goog-upload-command') === 'start') {
        fake.counts.resumableStarts++;
        const id = randomBytes(8).toString('hex');
        sessions.set(id, { id, size: Number(h('x-goog-upload-raw-size')), mimeType: h('x-goog-upload-content-type'), chunks: [], received: 0 });
        return res
          .writeHead(200, {
            'x-goog-upload-url': `${fake.url}/upload-session/${id}`,
            'x-goog-upload-chunk-granularity': String(fake.chunkGranularity),
            'x-goog-upload-status': 'active',
          })
          .end();
      }
      return googleError(res, 400, 'INVALID_ARGUMENT', 'Unknown upload protocol');
    }
    const sessionMatch = url.pathname.match(/^\/upload-session\/([0-9a-f]+)$/);
    if (sessionMatch && req.method === 'POST') {
      const s = sessions.get(sessionMatch[1]!);
      if (!s) return googleError(res, 404, 'NOT_FOUND', 'No such upload session');
      const command = h('x-goog-upload-command');
      if (command === 'query') {
        fake.counts.queries++;
        const status = s.token ? 'final' : 'active';
        return res.writeHead(200, { 'x-goog-upload-status': status, 'x-goog-upload-size-received': String(s.received) }).end(s.token ?? '');
      }
      const offset = Number(h('x-goog-upload-offset'));
      if (offset !== s.received) return googleError(res, 400, 'INVALID_ARGUMENT', `Offset ${offset} does not match received ${s.received}`);
      const finalize = command.split(',').map((c) => c.trim()).includes('finalize');
      if (!finalize && body.byteLength % fake.chunkGranularity !== 0) return googleError(res, 400, 'INVALID_ARGUMENT', 'Chunk not a multiple of the granularity');
      fake.counts.chunks++;
      if (fake.onChunk?.({ offset, length: body.byteLength, total: s.size }) === 'hang') {
        hanging.push(res);
        return;
      }
      s.chunks.push(body);
      s.received += body.byteLength;
      if (finalize) {
        if (s.received !== s.size) return googleError(res, 400, 'INVALID_ARGUMENT', `Got ${s.received} bytes, announced ${s.size}`);
        if (quotaRefused(res)) return;
        s.token = finishUpload(Buffer.concat(s.chunks), s.mimeType);
        return res.writeHead(200, { 'x-goog-upload-status': 'final', 'content-type': 'text/plain' }).end(s.token);
      }
      return res.writeHead(200, { 'x-goog-upload-status': 'active' }).end();
    }

    // ── media items ──
    if (url.pathname === '/v1/mediaItems:batchCreate' && req.method === 'POST') {
      batchesInFlight++;
      fake.maxConcurrentBatches = Math.max(fake.maxConcurrentBatches, batchesInFlight);
      const done = () => {
        batchesInFlight--;
      };
      const reqBody = JSON.parse(body.toString('utf8')) as {
        albumId?: string;
        newMediaItems: { description?: string; simpleMediaItem: { uploadToken: string; fileName: string } }[];
      };
      fake.batchSizes.push(reqBody.newMediaItems.length);
      const refusal = fake.batchCreateErrors.shift();
      if (refusal) {
        done();
        return googleError(res, refusal.status, refusal.reason, refusal.message);
      }
      if (reqBody.newMediaItems.length > 50) {
        done();
        return googleError(res, 400, 'INVALID_ARGUMENT', 'Request must contain at most 50 items');
      }
      if (reqBody.albumId && !fake.albums.some((a) => a.id === reqBody.albumId)) {
        done();
        return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid album id');
      }
      const results = reqBody.newMediaItems.map((n) => {
        const u = uploads.get(n.simpleMediaItem.uploadToken);
        const token = n.simpleMediaItem.uploadToken;
        if (!u || u.used) return { uploadToken: token, status: { code: 3, message: 'Failed: There was an error while trying to create this media item.' } };
        if (fake.failFileNames.has(n.simpleMediaItem.fileName)) return { uploadToken: token, status: { code: 3, message: 'Failed: unsupported file type' } };
        u.used = true;
        const id = `mi-${randomBytes(10).toString('hex')}`;
        const item: FakeMediaItem = {
          id,
          filename: n.simpleMediaItem.fileName,
          mimeType: u.mimeType,
          productUrl: `https://photos.google.com/lr/photo/${id}`,
          description: n.description,
          albumId: reqBody.albumId,
          sha256: u.sha256,
          size: u.size,
        };
        fake.items.push(item);
        return { uploadToken: token, status: { message: 'Success' }, mediaItem: { id, filename: item.filename, mimeType: item.mimeType, productUrl: item.productUrl, description: item.description } };
      });
      // a little latency so overlapping calls would be seen
      setTimeout(() => {
        done();
        json(res, 200, { newMediaItemResults: results });
      }, 15);
      return;
    }
    const itemMatch = url.pathname.match(/^\/v1\/mediaItems\/([^/]+)$/);
    if (itemMatch && req.method === 'GET') {
      fake.counts.gets++;
      const item = fake.items.find((i) => i.id === decodeURIComponent(itemMatch[1]!));
      if (!item) return googleError(res, 404, 'NOT_FOUND', 'Requested entity was not found.');
      return json(res, 200, { id: item.id, filename: item.filename, mimeType: item.mimeType, productUrl: item.productUrl });
    }

    // ── albums ──
    if (url.pathname === '/v1/albums' && req.method === 'GET') return json(res, 200, fake.hideAlbumsFromList ? {} : { albums: fake.albums });
    if (url.pathname === '/v1/albums' && req.method === 'POST') {
      const { album } = JSON.parse(body.toString('utf8')) as { album: { title: string } };
      const created = { id: `al-${randomBytes(6).toString('hex')}`, title: album.title, isWriteable: true };
      fake.albums.push(created);
      return json(res, 200, created);
    }
    return googleError(res, 404, 'NOT_FOUND', `No route ${req.method} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
