import { type Logger, SinkError, silentLogger } from '@keepsake/core';
import type { AccessTokenProvider, HttpClient } from './http-client.js';
import { postTokenRequest } from './oauth-token-endpoint.js';
import { type TokenSet, type TokenStore, tokenSetFrom } from './tokens.js';

export interface TokenProviderOptions {
  /** Sink id for "Run: keepsake login <sink>". */
  sink: string;
  store: TokenStore;
  /** Token endpoint for `grant_type=refresh_token`. */
  tokenUrl: string;
  clientId: string;
  /** Google desktop clients have a (non-confidential) secret; Microsoft public clients none. */
  clientSecret?: string;
  /** Scope to request on refresh (Microsoft wants it; Google ignores it). */
  scope?: string;
  /** Client for the token endpoint (unauthenticated requests). */
  http: HttpClient;
  /** Refresh this long before expiry (default 2 min). */
  skewMs?: number;
  logger?: Logger;
  now?: () => number;
}

/**
 * Hands out access tokens from the store, refreshing them when they are about to expire or the
 * service rejected one (401). Refresh tokens that rotate are written back at once — losing a
 * rotated refresh token would log the user out. Concurrent callers share one refresh.
 */
export function createTokenProvider(o: TokenProviderOptions): AccessTokenProvider & { current(): Promise<TokenSet | undefined> } {
  const now = o.now ?? Date.now;
  const skew = o.skewMs ?? 120_000;
  const logger = o.logger ?? silentLogger;
  let cached: TokenSet | undefined;
  let rejected: string | undefined;
  let refreshing: Promise<TokenSet> | undefined;

  async function refresh(tokens: TokenSet, signal?: AbortSignal): Promise<TokenSet> {
    if (!tokens.refreshToken) throw SinkError.authRequired(o.sink, { classification: 'fatal', cause: 'no refresh token stored' });
    const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: o.clientId };
    if (o.clientSecret) form.client_secret = o.clientSecret;
    if (o.scope) form.scope = o.scope;
    const result = await postTokenRequest(o.http, o.tokenUrl, form, signal);
    if (!result.ok) {
      // invalid_grant: revoked, expired or password changed — only a new login helps.
      throw SinkError.authRequired(o.sink, {
        classification: 'fatal',
        cause: `${result.error.error}${result.error.error_description ? `: ${result.error.error_description.split(/\r?\n/)[0]}` : ''}`,
      });
    }
    const next = tokenSetFrom(result.tokens, tokens, now());
    await o.store.save(next);
    logger.debug('access token refreshed', { expiresInS: Math.round((next.expiresAt - now()) / 1000), rotated: next.refreshToken !== tokens.refreshToken });
    return next;
  }

  return {
    async current() {
      return cached ?? (await o.store.load());
    },
    async getAccessToken(signal) {
      if (refreshing) cached = await refreshing;
      cached ??= await o.store.load();
      if (!cached) throw SinkError.authRequired(o.sink, { classification: 'fatal', cause: `no login stored in ${o.store.description}` });
      const stale = cached.expiresAt - skew <= now() || cached.accessToken === rejected;
      if (!stale) return cached.accessToken;
      if (!refreshing) {
        const from = cached;
        refreshing = refresh(from, signal).finally(() => {
          refreshing = undefined;
        });
      }
      cached = await refreshing;
      return cached.accessToken;
    },
    invalidate(token) {
      rejected = token;
    },
  };
}
