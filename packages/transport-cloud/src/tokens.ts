import { KeepsakeError, type SecretStore } from '@keepsake/core';

/** What an OAuth login leaves behind. Never written to config or logs. */
export interface TokenSet {
  accessToken: string;
  /** Absent when the service gave none (then a new login is needed on expiry). */
  refreshToken?: string;
  /** Access token expiry, ms since the epoch. */
  expiresAt: number;
  scope?: string;
  tokenType?: string;
  /** When the login happened (ms since the epoch), for `keepsake login` status lines. */
  obtainedAt?: number;
}

/** The JSON an OAuth 2.0 token endpoint answers (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number | string;
  refresh_token?: string;
  scope?: string;
}

/** Converts a token endpoint answer; a missing `refresh_token` keeps the previous one (non-rotating services). */
export function tokenSetFrom(res: TokenResponse, previous?: TokenSet, now: number = Date.now()): TokenSet {
  if (typeof res?.access_token !== 'string' || res.access_token === '') {
    throw new KeepsakeError('AUTH_REQUIRED', 'The token endpoint answered without an access token', { classification: 'fatal' });
  }
  const expiresIn = Number(res.expires_in ?? 3600);
  return {
    accessToken: res.access_token,
    refreshToken: res.refresh_token ?? previous?.refreshToken,
    expiresAt: now + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000,
    scope: res.scope ?? previous?.scope,
    tokenType: res.token_type,
    obtainedAt: previous?.obtainedAt ?? now,
  };
}

/** Tokens of one login (one account on one service), kept in a {@link SecretStore}. */
export interface TokenStore {
  /** Secret-store key, e.g. `keepsake:onedrive:<client id>@<authority>/<tenant>`. */
  readonly key: string;
  readonly description: string;
  load(): Promise<TokenSet | undefined>;
  save(tokens: TokenSet): Promise<void>;
  clear(): Promise<void>;
}

/**
 * Writes to one secret store, one at a time. Two logins share the store (OneDrive and Google
 * Photos in one run, refreshing at the same moment); core's file store rewrites the whole file
 * (read, change, temp file named by pid, rename), so two writes at once lose one of them or fail
 * with ENOENT — and a lost write is a rotated refresh token gone.
 */
const writeQueues = new WeakMap<SecretStore, Promise<unknown>>();
function serialized<T>(secrets: SecretStore, write: () => Promise<T>): Promise<T> {
  const run = (writeQueues.get(secrets) ?? Promise.resolve()).then(write, write);
  writeQueues.set(
    secrets,
    run.catch(() => {}),
  );
  return run;
}

/** Stores a {@link TokenSet} as JSON under `key`; unreadable entries count as "not logged in". */
export function createTokenStore(secrets: SecretStore, key: string): TokenStore {
  return {
    key,
    description: secrets.description,
    async load() {
      const raw = await secrets.get(key);
      if (!raw) return undefined;
      try {
        const t = JSON.parse(raw) as TokenSet;
        return typeof t.accessToken === 'string' && typeof t.expiresAt === 'number' ? t : undefined;
      } catch {
        return undefined;
      }
    },
    save: (tokens) => serialized(secrets, () => secrets.set(key, JSON.stringify(tokens))),
    clear: () => serialized(secrets, () => secrets.delete(key)),
  };
}
