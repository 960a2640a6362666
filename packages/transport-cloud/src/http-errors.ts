import { KeepsakeError, type KeepsakeErrorOptions, SinkError } from '@keepsake/core';
import { redact } from './redact.js';

/** Codes transport-cloud adds to core's. */
export type CloudErrorCode = 'HTTP_SERVER_ERROR' | 'HTTP_CLIENT_ERROR' | 'NETWORK_ERROR';

/** What an HTTP failure looked like, for {@link httpError}. */
export interface HttpFailure {
  status: number;
  /** Response body as text (first few KB); used for error messages and quota detection. */
  body?: string;
  /** Milliseconds from a `Retry-After` header. */
  retryAfterMs?: number;
  method?: string;
  /** URL without credentials (see `redactUrl`). */
  url?: string;
}

export interface HttpErrorOptions {
  /** Sink id for hints (`keepsake login onedrive`). */
  sink: string;
  /** Human service name for messages ("OneDrive", "Google Photos"). */
  service: string;
  /**
   * Recognises a quota that will not come back soon (daily API quota, full storage). Returns the
   * message to show, or undefined. Default: {@link defaultQuotaDetector}.
   */
  detectQuota?: (failure: HttpFailure) => string | undefined;
  context?: KeepsakeErrorOptions;
}

/**
 * The default quota detector: Google's `RESOURCE_EXHAUSTED`/`quotaExceeded`/`dailyLimitExceeded`,
 * Graph's 507 `insufficientStorage` / `quotaLimitReached`.
 */
export function defaultQuotaDetector(f: HttpFailure): string | undefined {
  const body = f.body ?? '';
  if (f.status === 507 || /insufficientStorage|quotaLimitReached/i.test(body)) {
    return 'the destination has no storage space left';
  }
  if ((f.status === 429 || f.status === 403) && /RESOURCE_EXHAUSTED|quotaExceeded|dailyLimitExceeded|rateLimitExceeded.*day/i.test(body)) {
    return 'daily quota reached, resume tomorrow';
  }
  return undefined;
}

/** A short, credential-free excerpt of an error body for messages. */
function excerpt(body: string | undefined): string {
  if (!body) return '';
  let text = body;
  try {
    const j = JSON.parse(body) as { error?: { message?: string; code?: string } | string; error_description?: string; message?: string };
    if (typeof j.error === 'object' && j.error) text = [j.error.code, j.error.message].filter(Boolean).join(': ');
    else if (typeof j.error === 'string') text = [j.error, j.error_description].filter(Boolean).join(': ');
    else if (j.message) text = j.message;
  } catch {}
  text = redact(text.replace(/\s+/g, ' ').trim());
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * Maps an HTTP failure to a KeepsakeError, once for every cloud sink:
 * - 401 → AUTH_REQUIRED (fatal, "Run: keepsake login <sink>")
 * - quota (see `detectQuota`) → QUOTA_EXHAUSTED (fatal: the run stops, the ledger keeps progress)
 * - 429, and 503 with Retry-After → RATE_LIMITED (retryable, `retryAfterMs`)
 * - 408, 5xx → HTTP_SERVER_ERROR (retryable)
 * - 404 → SINK_NOT_FOUND, 409/412 → SINK_ALREADY_EXISTS, 413 → TOO_LARGE (permanent)
 * - other 4xx → HTTP_CLIENT_ERROR (permanent)
 */
export function httpError(f: HttpFailure, o: HttpErrorOptions): KeepsakeError {
  const what = `${o.service} answered ${f.status}${f.method ? ` to ${f.method}` : ''}`;
  const detail = excerpt(f.body);
  const message = detail ? `${what}: ${detail}` : what;
  const base: KeepsakeErrorOptions = { location: f.url, ...o.context };
  const quota = (o.detectQuota ?? defaultQuotaDetector)(f);
  if (quota) {
    return SinkError.quotaExceeded(`${o.service}: ${quota}`, {
      ...base,
      classification: 'fatal',
      retryAfterMs: f.retryAfterMs,
      hint: 'Progress is saved in the ledger; run the same command again later (usually tomorrow) and it continues where it stopped.',
    });
  }
  if (f.status === 401) return SinkError.authRequired(o.sink, { ...base, classification: 'fatal', cause: message });
  if (f.status === 429 || (f.status === 503 && f.retryAfterMs !== undefined)) {
    return SinkError.rateLimited(f.retryAfterMs, { ...base, cause: message });
  }
  if (f.status === 408 || f.status >= 500) {
    return new KeepsakeError('HTTP_SERVER_ERROR', message, { ...base, classification: 'retryable', retryAfterMs: f.retryAfterMs });
  }
  if (f.status === 404) return new KeepsakeError('SINK_NOT_FOUND', message, { ...base, classification: 'permanent' });
  if (f.status === 409 || f.status === 412) return new KeepsakeError('SINK_ALREADY_EXISTS', message, { ...base, classification: 'permanent' });
  if (f.status === 413) return new KeepsakeError('TOO_LARGE', message, { ...base, classification: 'permanent' });
  return new KeepsakeError('HTTP_CLIENT_ERROR', message, {
    ...base,
    classification: 'permanent',
    hint: f.status === 403 ? `Check that the account used for "keepsake login ${o.sink}" may write there.` : undefined,
  });
}

/** Connection reset, DNS failure, socket closed: retryable. */
export function networkError(cause: unknown, o: HttpErrorOptions & { url?: string; method?: string }): KeepsakeError {
  const code = (cause as { code?: string })?.code;
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new KeepsakeError('NETWORK_ERROR', `Could not reach ${o.service}${o.method ? ` (${o.method})` : ''}: ${code ? `${code} ` : ''}${redact(msg)}`, {
    location: o.url,
    ...o.context,
    cause,
    classification: 'retryable',
    hint: 'Check the network connection; keepsake retries and resumes where it stopped.',
  });
}

export function timeoutError(ms: number, o: HttpErrorOptions & { url?: string; method?: string }): KeepsakeError {
  return new KeepsakeError('TIMEOUT', `${o.service} did not answer${o.method ? ` ${o.method}` : ''} within ${Math.round(ms / 1000)} s`, {
    location: o.url,
    ...o.context,
    classification: 'retryable',
  });
}
