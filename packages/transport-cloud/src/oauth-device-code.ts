import { KeepsakeError, sleep, throwIfAborted } from '@keepsake/core';
import type { HttpClient } from './http-client.js';
import { postTokenRequest } from './oauth-token-endpoint.js';
import { type TokenSet, tokenSetFrom } from './tokens.js';

/** What the user must do, from the device authorization answer (RFC 8628 §3.2). */
export interface DeviceCodePrompt {
  userCode: string;
  verificationUri: string;
  /** Some servers give a URL with the code filled in. */
  verificationUriComplete?: string;
  /** Server-written instructions (Microsoft's `message`). */
  message?: string;
  expiresInS: number;
}

export interface DeviceCodeLoginOptions {
  /** Sink id for error hints. */
  sink: string;
  /** Device authorization endpoint (`{authority}/{tenant}/oauth2/v2.0/devicecode`). */
  deviceCodeUrl: string;
  tokenUrl: string;
  clientId: string;
  scope: string;
  http: HttpClient;
  /** Shows the code and URL (written to stdout by the CLI; works without a TTY). */
  prompt(p: DeviceCodePrompt): void;
  signal?: AbortSignal;
  /** Length of the server's "interval" unit in ms (1000; tests shrink it). */
  secondMs?: number;
  now?: () => number;
}

interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri?: string;
  /** Google's older name. */
  verification_url?: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
  message?: string;
}

/**
 * OAuth 2.0 device authorization grant (RFC 8628), as Microsoft's identity platform does it:
 * request a code, show it, poll the token endpoint at `interval` seconds — `authorization_pending`
 * keeps polling, `slow_down` adds 5 s, `expired_token`/`authorization_declined` stop with a clear
 * error. Returns the tokens; storing them is the caller's job.
 */
export async function deviceCodeLogin(o: DeviceCodeLoginOptions): Promise<TokenSet> {
  const unit = o.secondMs ?? 1000;
  const now = o.now ?? Date.now;
  const res = await o.http.request({
    method: 'POST',
    url: o.deviceCodeUrl,
    form: { client_id: o.clientId, scope: o.scope },
    auth: false,
    retry: true,
    accept: [400, 401],
    signal: o.signal,
  });
  const body = res.json<DeviceAuthorizationResponse & { error?: string; error_description?: string }>();
  if (res.status !== 200 || !body?.device_code) {
    throw new KeepsakeError('AUTH_REQUIRED', `Could not start the device login: ${body?.error ?? res.status}${body?.error_description ? ` (${body.error_description.split(/\r?\n/)[0]})` : ''}`, {
      classification: 'fatal',
      hint: 'Check the sink\'s clientId and tenant options (the app registration must allow public client flows).',
    });
  }
  const verificationUri = body.verification_uri ?? body.verification_url ?? '';
  o.prompt({
    userCode: body.user_code,
    verificationUri,
    verificationUriComplete: body.verification_uri_complete,
    message: body.message,
    expiresInS: body.expires_in,
  });
  let intervalS = Math.max(1, Number(body.interval ?? 5));
  const deadline = now() + Number(body.expires_in ?? 900) * unit;
  for (;;) {
    throwIfAborted(o.signal);
    await sleep(intervalS * unit, o.signal);
    const r = await postTokenRequest(
      o.http,
      o.tokenUrl,
      { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: o.clientId, device_code: body.device_code },
      o.signal,
    );
    if (r.ok) return tokenSetFrom(r.tokens, undefined, now());
    switch (r.error.error) {
      case 'authorization_pending':
        break;
      case 'slow_down':
        intervalS += 5;
        break;
      case 'expired_token':
        throw new KeepsakeError('AUTH_REQUIRED', 'The login code expired before it was entered', {
          classification: 'fatal',
          hint: `Run keepsake login ${o.sink} again and enter the code within ${Math.round(body.expires_in / 60)} minutes.`,
        });
      case 'authorization_declined':
      case 'access_denied':
        throw new KeepsakeError('AUTH_REQUIRED', 'The login was declined in the browser', {
          classification: 'fatal',
          hint: `Run keepsake login ${o.sink} again and accept the permissions keepsake asks for.`,
        });
      default:
        throw new KeepsakeError('AUTH_REQUIRED', `The login failed: ${r.error.error}${r.error.error_description ? ` (${r.error.error_description.split(/\r?\n/)[0]})` : ''}`, {
          classification: 'fatal',
          hint: `Run keepsake login ${o.sink} again; check the clientId and tenant options.`,
        });
    }
    if (now() > deadline) {
      throw new KeepsakeError('AUTH_REQUIRED', 'The login code expired before it was entered', {
        classification: 'fatal',
        hint: `Run keepsake login ${o.sink} again.`,
      });
    }
  }
}
