import type { HttpClient } from './http-client.js';
import type { TokenResponse } from './tokens.js';

/** An OAuth error answer (RFC 6749 §5.2, RFC 8628 §3.5). */
export interface OAuthErrorResponse {
  error: string;
  error_description?: string;
}

export type TokenEndpointResult = { ok: true; tokens: TokenResponse } | { ok: false; error: OAuthErrorResponse; status: number };

/**
 * POSTs a form to a token endpoint. OAuth errors (400/401 with `{error}`) are returned, not
 * thrown, so callers can act on `authorization_pending`, `invalid_grant`…; transport failures
 * (5xx, resets, timeouts) are retried by the client and thrown when they persist.
 */
export async function postTokenRequest(
  http: HttpClient,
  tokenUrl: string,
  form: Record<string, string>,
  signal?: AbortSignal,
): Promise<TokenEndpointResult> {
  const res = await http.request({
    method: 'POST',
    url: tokenUrl,
    form,
    auth: false,
    // Repeating a token request is harmless: an unused code or refresh token stays valid.
    retry: true,
    accept: [400, 401, 403],
    headers: { accept: 'application/json' },
    signal,
  });
  let body: unknown;
  try {
    body = res.json();
  } catch {
    body = undefined;
  }
  if (res.status >= 200 && res.status < 300) return { ok: true, tokens: body as TokenResponse };
  const err = body as Partial<OAuthErrorResponse> | undefined;
  return {
    ok: false,
    status: res.status,
    error: { error: typeof err?.error === 'string' ? err.error : `http_${res.status}`, error_description: err?.error_description },
  };
}
