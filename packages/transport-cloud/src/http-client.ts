import { abortError, isKeepsakeError, type Logger, silentLogger, withRetry } from '@keepsake/core';
import { Agent, type Dispatcher, request } from 'undici';
import { type HttpErrorOptions, httpError, networkError, timeoutError } from './http-errors.js';
import { ConcurrencyLimiter, TokenBucket } from './limits.js';
import { redactUrl } from './redact.js';
import { parseRetryAfter } from './retry-after.js';

/** Gives the HTTP client a bearer token; implemented by {@link createTokenProvider}. */
export interface AccessTokenProvider {
  /** A currently valid access token (refreshing first when it is about to expire). */
  getAccessToken(signal?: AbortSignal): Promise<string>;
  /** The service rejected `token` (401): the next `getAccessToken` must refresh. */
  invalidate(token: string): void;
}

export interface HttpClientOptions {
  /** Human service name for messages ("OneDrive"). */
  service: string;
  /** Sink id for hints ("Run: keepsake login onedrive"). */
  sink: string;
  /** Bearer tokens for requests with `auth` (default: none). */
  auth?: AccessTokenProvider;
  /** Upper bound for one request, headers and body (default 60 s). Per request: `timeoutMs`. */
  timeoutMs?: number;
  /** Requests in flight at once for this client (default 4). */
  concurrency?: number;
  /** Sustained request rate (token bucket); unlimited when absent. */
  ratePerSecond?: number;
  /** Token bucket size (default ceil(ratePerSecond)). */
  burst?: number;
  /** Attempts per request including the first (default 6). */
  attempts?: number;
  /** Full-jitter backoff base and cap (defaults 500 ms and 30 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /**
   * A `Retry-After` longer than this is not waited out inside one request: the RATE_LIMITED error
   * goes to the caller (the pipeline) instead (default 120 s).
   */
  maxRetryAfterMs?: number;
  detectQuota?: HttpErrorOptions['detectQuota'];
  /** undici dispatcher (default: a keep-alive Agent owned by this client). */
  dispatcher?: Dispatcher;
  logger?: Logger;
  userAgent?: string;
  /** Randomness for jitter (tests). */
  random?: () => number;
}

export type HttpBody = string | Uint8Array;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string | URL;
  headers?: Record<string, string>;
  /** Raw body (Content-Length is set from it). */
  body?: HttpBody;
  /** JSON body (sets Content-Type). */
  json?: unknown;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** Send `Authorization: Bearer` (default: true when the client has `auth`). */
  auth?: boolean;
  /**
   * Retry transient failures (default: true for GET/HEAD/PUT/DELETE, false for POST/PATCH, which
   * must only be retried when repeating them is harmless).
   */
  retry?: boolean;
  /** Statuses returned to the caller instead of thrown (e.g. 404 for a lookup, 416 for a range). */
  accept?: number[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Body as text (responses handled here are small JSON or text). */
  text: string;
  json<T = unknown>(): T;
  header(name: string): string | undefined;
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
  /** `request` + status in 2xx (or `accept`) + parsed JSON. */
  json<T = unknown>(req: HttpRequest): Promise<T>;
  readonly limiter: ConcurrencyLimiter;
  close(): Promise<void>;
}

/** Largest response body read into memory; larger bodies are cut (they are never media here). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * An HTTP client for one cloud service on undici: every request bounded by a timeout and by the
 * caller's AbortSignal, limited in concurrency and rate, retried with full-jitter exponential
 * backoff where `Retry-After` wins, and failures mapped to KeepsakeErrors ({@link httpError}).
 * A 401 with `auth` refreshes the token once and repeats the request.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const ownDispatcher = options.dispatcher ? undefined : new Agent({ keepAliveTimeout: 10_000, connections: options.concurrency ?? 4 });
  const dispatcher = options.dispatcher ?? ownDispatcher!;
  const limiter = new ConcurrencyLimiter(options.concurrency ?? 4);
  const bucket = options.ratePerSecond ? new TokenBucket(options.ratePerSecond, options.burst) : undefined;
  const logger = options.logger ?? silentLogger;
  const errOpts: HttpErrorOptions = { service: options.service, sink: options.sink, detectQuota: options.detectQuota };
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;

  async function once(req: HttpRequest, useAuth: boolean, refreshed: { done: boolean }): Promise<HttpResponse> {
    const url = String(req.url);
    const safeUrl = redactUrl(url);
    const headers: Record<string, string> = { ...(options.userAgent ? { 'user-agent': options.userAgent } : {}), ...req.headers };
    let body: HttpBody | undefined = req.body;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] ??= 'application/json';
    } else if (req.form) {
      body = new URLSearchParams(req.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    let token: string | undefined;
    if (useAuth) {
      token = await options.auth!.getAccessToken(req.signal);
      headers.authorization = `Bearer ${token}`;
    }
    const timeoutMs = req.timeoutMs ?? options.timeoutMs ?? 60_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    if (bucket) await bucket.take(req.signal);
    const release = await limiter.acquire(req.signal);
    const started = performance.now();
    let status: number;
    let resHeaders: HttpResponse['headers'];
    let text: string;
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        body,
        signal,
        dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      resHeaders = res.headers;
      text = await readText(res.body);
    } catch (err) {
      if (req.signal?.aborted) throw abortError(req.signal.reason);
      if (timeout.aborted || (err as { code?: string })?.code === 'UND_ERR_HEADERS_TIMEOUT' || (err as { code?: string })?.code === 'UND_ERR_BODY_TIMEOUT') {
        throw timeoutError(timeoutMs, { ...errOpts, url: safeUrl, method: req.method });
      }
      throw networkError(err, { ...errOpts, url: safeUrl, method: req.method });
    } finally {
      release();
    }
    logger.debug('http', { service: options.service, method: req.method, url: safeUrl, status, ms: Math.round(performance.now() - started) });
    const response: HttpResponse = {
      status,
      headers: resHeaders,
      text,
      json: <T>() => (text === '' ? undefined : JSON.parse(text)) as T,
      header: (name) => {
        const v = resHeaders[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
    };
    if ((status >= 200 && status < 300) || req.accept?.includes(status)) return response;
    if (status === 401 && useAuth && !refreshed.done) {
      // Expired or revoked access token: refresh once; a second 401 means the login is gone.
      refreshed.done = true;
      options.auth!.invalidate(token!);
      return once(req, useAuth, refreshed);
    }
    throw httpError(
      { status, body: text.slice(0, 4000), retryAfterMs: parseRetryAfter(response.header('retry-after')), method: req.method, url: safeUrl },
      errOpts,
    );
  }

  async function doRequest(req: HttpRequest): Promise<HttpResponse> {
    const useAuth = req.auth ?? options.auth !== undefined;
    if (useAuth && !options.auth) throw new Error(`${options.service}: request needs auth but the client has no token provider`);
    const retry = req.retry ?? (req.method !== 'POST' && req.method !== 'PATCH');
    const refreshed = { done: false };
    return withRetry(() => once(req, useAuth, refreshed), {
      attempts: retry ? (options.attempts ?? 6) : 1,
      baseMs: options.backoffBaseMs,
      maxMs: options.backoffMaxMs,
      signal: req.signal,
      random: options.random,
      shouldRetry: (e) =>
        isKeepsakeError(e) && e.classification === 'retryable' && (e.retryAfterMs === undefined || e.retryAfterMs <= maxRetryAfterMs),
      onRetry: ({ attempt, delayMs, error }) =>
        logger.info(`${options.service}: retrying in ${Math.round(delayMs)} ms`, {
          attempt,
          error: isKeepsakeError(error) ? error.describe() : String(error),
        }),
    });
  }

  return {
    limiter,
    request: doRequest,
    async json<T>(req: HttpRequest) {
      const res = await doRequest(req);
      return res.json<T>();
    },
    async close() {
      await ownDispatcher?.close();
    },
  };
}

async function readText(body: AsyncIterable<Uint8Array> & { dump?: () => Promise<void> }): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.byteLength > MAX_BODY_BYTES) {
      chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
      size = MAX_BODY_BYTES;
      break;
    }
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
