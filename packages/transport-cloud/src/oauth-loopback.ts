import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { abortError, KeepsakeError } from '@keepsake/core';
import type { HttpClient } from './http-client.js';
import { postTokenRequest } from './oauth-token-endpoint.js';
import { type TokenSet, tokenSetFrom } from './tokens.js';

/** PKCE pair (RFC 7636, S256). */
export function createPkce(): { verifier: string; challenge: string; method: 'S256' } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url'), method: 'S256' };
}

export interface LoopbackLoginOptions {
  sink: string;
  /** Authorization endpoint (Google: https://accounts.google.com/o/oauth2/v2/auth). */
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  /** Desktop-app secrets are not confidential, but Google requires them in the exchange. */
  clientSecret?: string;
  scope: string;
  http: HttpClient;
  /** Extra authorization parameters (Google: access_type=offline, prompt=consent). */
  extraParams?: Record<string, string>;
  /** Shows the URL to open (and may open a browser). Called once the listener is ready. */
  prompt(authorizeUrl: string): void;
  /** Give up waiting for the browser after this long (default 5 min). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif"><h1>${title}</h1><p>${text}</p></body>`;

/**
 * OAuth 2.0 for installed apps with a loopback redirect (RFC 8252) and PKCE: listens on
 * 127.0.0.1 on a random port, sends the user to the authorization URL, accepts exactly one
 * redirect whose `state` matches, and exchanges the code. Returns the tokens.
 */
export async function loopbackLogin(o: LoopbackLoginOptions): Promise<TokenSet> {
  const pkce = createPkce();
  const state = randomBytes(16).toString('base64url');
  type Redirect = { code: string; redirectUri: string; answer(ok: boolean): Promise<void> };
  let settle!: { resolve(v: Redirect): void; reject(e: unknown): void };
  const got = new Promise<Redirect>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let redirectUri = '';
  const server = createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', redirectUri);
    } catch {
      // A malformed request target (a port scanner, a broken client) is not ours; a throw here would crash the login.
      res.writeHead(400).end();
      return;
    }
    if (url.pathname !== '/') {
      res.writeHead(404).end();
      return;
    }
    const q = url.searchParams;
    if (q.get('state') !== state) {
      // Not our redirect (stale tab, or another site probing the port): ignore it.
      res.writeHead(400, { 'content-type': 'text/html' }).end(PAGE('keepsake', 'This sign-in link is stale. Start again from the terminal.'));
      return;
    }
    const error = q.get('error');
    const code = q.get('code');
    if (error || !code) {
      res.writeHead(400, { 'content-type': 'text/html' }).end(PAGE('Sign-in failed', 'You can close this tab and check the terminal.'));
      settle.reject(
        new KeepsakeError('AUTH_REQUIRED', `The sign-in was not completed: ${error ?? 'no code returned'}`, {
          classification: 'fatal',
          hint: `Run keepsake login ${o.sink} again and accept the permissions keepsake asks for.`,
        }),
      );
      return;
    }
    // The page waits for the code exchange, so the browser never says "signed in" when it failed.
    settle.resolve({
      code,
      redirectUri,
      answer: (ok) =>
        new Promise<void>((resolve) => {
          res.on('close', resolve);
          if (ok) res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE('Signed in', 'keepsake is signed in. You can close this tab.'), resolve);
          else res.writeHead(400, { 'content-type': 'text/html' }).end(PAGE('Sign-in failed', 'You can close this tab and check the terminal.'), resolve);
        }),
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const timer = setTimeout(
    () =>
      settle.reject(
        new KeepsakeError('AUTH_REQUIRED', 'Timed out waiting for the browser sign-in', {
          classification: 'fatal',
          hint: `Run keepsake login ${o.sink} again and finish the sign-in in the browser.`,
        }),
      ),
    o.timeoutMs ?? 300_000,
  );
  const onAbort = () => settle.reject(abortError(o.signal?.reason));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const auth = new URL(o.authorizeUrl);
    const params: Record<string, string> = {
      client_id: o.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: o.scope,
      state,
      code_challenge: pkce.challenge,
      code_challenge_method: pkce.method,
      ...o.extraParams,
    };
    for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v);
    if (o.signal?.aborted) onAbort();
    o.prompt(auth.toString());
    const redirect = await got;
    let ok = false;
    try {
      const form: Record<string, string> = {
        grant_type: 'authorization_code',
        code: redirect.code,
        redirect_uri: redirectUri,
        client_id: o.clientId,
        code_verifier: pkce.verifier,
      };
      if (o.clientSecret) form.client_secret = o.clientSecret;
      const r = await postTokenRequest(o.http, o.tokenUrl, form, o.signal);
      if (!r.ok) {
        throw new KeepsakeError('AUTH_REQUIRED', `The sign-in code was refused: ${r.error.error}${r.error.error_description ? ` (${r.error.error_description})` : ''}`, {
          classification: 'fatal',
          hint: `Run keepsake login ${o.sink} again; check the clientId/clientSecret options.`,
        });
      }
      const tokens = tokenSetFrom(r.tokens);
      // Google's consent screen lets the user untick some of the requested scopes (granular
      // consent); the answer's `scope` lists what was granted (absent: all of it, RFC 6749 §5.1).
      if (typeof r.tokens.scope === 'string') {
        const granted = new Set(r.tokens.scope.split(/\s+/));
        const missing = o.scope.split(/\s+/).filter((s) => s && !granted.has(s));
        if (missing.length > 0) {
          throw new KeepsakeError('AUTH_REQUIRED', `The sign-in did not grant every permission keepsake needs; missing: ${missing.join(', ')}`, {
            classification: 'fatal',
            hint: `Run keepsake login ${o.sink} again and tick every permission on the consent screen.`,
          });
        }
      }
      ok = true;
      return tokens;
    } finally {
      await redirect.answer(ok);
    }
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
