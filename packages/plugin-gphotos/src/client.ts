import type { Logger, SecretStore } from '@keepsake/core';
import { createHttpClient, createTokenProvider, createTokenStore, defaultQuotaDetector, type HttpClient, type HttpFailure, type TokenStore } from '@keepsake/transport-cloud';
import { type GPhotosOptions, tokenKey } from './options.js';

/**
 * Quota answers that will not clear within a run: the daily request quota (429
 * RESOURCE_EXHAUSTED) and the per-minute upload quota Google reports as a 400 mentioning
 * `UploadsPerMinute`. Both stop the run cleanly; the ledger keeps progress.
 */
export function detectGooglePhotosQuota(f: HttpFailure): string | undefined {
  // Google answers every quota limit with 429 RESOURCE_EXHAUSTED, per-minute ones too, and its docs
  // say to retry 429s with backoff. One that says when to try again is waited out (RATE_LIMITED;
  // a wait of more than a few minutes still stops the run, in core's retry), unless it names the
  // daily quota.
  if (f.status === 429 && f.retryAfterMs !== undefined && !/per day/i.test(f.body ?? '')) return undefined;
  if (f.status === 400 && /UploadsPerMinute/i.test(f.body ?? '')) return 'upload quota per minute exceeded; run again in a few minutes';
  if (f.status === 429 && /RESOURCE_EXHAUSTED|quota/i.test(f.body ?? '')) return 'daily API quota reached (10,000 requests per project per day); run again after it resets';
  return defaultQuotaDetector(f);
}

export function tokenStoreFor(o: GPhotosOptions, secrets: SecretStore): TokenStore {
  return createTokenStore(secrets, tokenKey(o));
}

/** An unauthenticated client (token endpoint). */
export function createPlainClient(logger: Logger): HttpClient {
  return createHttpClient({ service: 'Google', sink: 'gphotos', logger, timeoutMs: 60_000 });
}

/** The Library API client: bearer tokens refreshed from the store, Google's quota signals mapped. */
export function createPhotosClient(o: GPhotosOptions, store: TokenStore, logger: Logger, tuning: { ratePerSecond?: number; backoffBaseMs?: number } = {}): HttpClient {
  const tokens = createTokenProvider({
    sink: 'gphotos',
    store,
    tokenUrl: o.tokenUrl,
    clientId: o.clientId,
    clientSecret: o.clientSecret,
    http: createPlainClient(logger),
    logger,
  });
  return createHttpClient({
    service: 'Google Photos',
    sink: 'gphotos',
    auth: tokens,
    concurrency: 4,
    // stay under the per-minute upload quota rather than discovering it
    ratePerSecond: tuning.ratePerSecond ?? 5,
    burst: 10,
    backoffBaseMs: tuning.backoffBaseMs,
    detectQuota: detectGooglePhotosQuota,
    logger,
    userAgent: 'keepsake-gphotos/0.1',
  });
}
