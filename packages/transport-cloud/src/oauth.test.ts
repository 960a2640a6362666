import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSecretStore } from '@keepsake/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from './http-client.js';
import { deviceCodeLogin, type DeviceCodePrompt } from './oauth-device-code.js';
import { loopbackLogin } from './oauth-loopback.js';
import { json, startTestServer } from './test-server.js';
import { createTokenProvider } from './token-provider.js';
import { createTokenStore } from './tokens.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
let dir: string;
beforeAll(async () => {
  server = await startTestServer((_q, res) => res.end());
  dir = await mkdtemp(join(tmpdir(), 'ks-oauth-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
const http = createHttpClient({ service: 'Test', sink: 'test', backoffBaseMs: 1, backoffMaxMs: 2 });
afterAll(() => http.close());

const form = (body: Buffer) => Object.fromEntries(new URLSearchParams(body.toString()));

describe('deviceCodeLogin', () => {
  it('shows the code, polls through authorization_pending and slow_down, returns tokens', async () => {
    const polls: { at: number; form: Record<string, string> }[] = [];
    server.use((req, res, body) => {
      const f = form(body);
      if (req.url === '/tenant/oauth2/v2.0/devicecode') {
        expect(f).toEqual({ client_id: 'cid', scope: 'Files.ReadWrite offline_access' });
        return json(res, 200, { device_code: 'DC', user_code: 'ABCD-EFGH', verification_uri: 'https://microsoft.com/devicelogin', expires_in: 900, interval: 2 });
      }
      polls.push({ at: performance.now(), form: f });
      if (polls.length === 1) return json(res, 400, { error: 'authorization_pending' });
      if (polls.length === 2) return json(res, 400, { error: 'slow_down' });
      json(res, 200, { access_token: 'AT', refresh_token: 'RT', expires_in: 3600, token_type: 'Bearer' });
    });
    const prompts: DeviceCodePrompt[] = [];
    const started = performance.now();
    const tokens = await deviceCodeLogin({
      sink: 'test',
      deviceCodeUrl: `${server.url}/tenant/oauth2/v2.0/devicecode`,
      tokenUrl: `${server.url}/tenant/oauth2/v2.0/token`,
      clientId: 'cid',
      scope: 'Files.ReadWrite offline_access',
      http,
      prompt: (p) => prompts.push(p),
      secondMs: 10,
    });
    expect(prompts).toEqual([expect.objectContaining({ userCode: 'ABCD-EFGH', verificationUri: 'https://microsoft.com/devicelogin' })]);
    expect(tokens).toMatchObject({ accessToken: 'AT', refreshToken: 'RT' });
    expect(polls.map((p) => p.form.grant_type)).toEqual(Array(3).fill('urn:ietf:params:oauth:grant-type:device_code'));
    expect(polls[0]!.form.device_code).toBe('DC');
    // interval 2 "seconds" of 10 ms; after slow_down the interval grows by 5 to 7 (70 ms).
    expect(polls[0]!.at - started).toBeGreaterThanOrEqual(18);
    expect(polls[2]!.at - polls[1]!.at).toBeGreaterThanOrEqual(65);
  });

  it('stops with a clear error when the code expires', async () => {
    server.use((req, res) => {
      if (req.url!.endsWith('devicecode')) return json(res, 200, { device_code: 'DC', user_code: 'X', verification_uri: 'u', expires_in: 900, interval: 1 });
      json(res, 400, { error: 'expired_token' });
    });
    const err = await deviceCodeLogin({
      sink: 'onedrive',
      deviceCodeUrl: `${server.url}/devicecode`,
      tokenUrl: `${server.url}/token`,
      clientId: 'c',
      scope: 's',
      http,
      prompt: () => {},
      secondMs: 1,
    }).catch((e) => e);
    expect(err).toMatchObject({ code: 'AUTH_REQUIRED', classification: 'fatal' });
    expect(err.hint).toContain('keepsake login onedrive');
  });
});

describe('loopbackLogin', () => {
  it('listens on 127.0.0.1, checks state, exchanges the code with the PKCE verifier', async () => {
    let exchange: Record<string, string> | undefined;
    let challenge: string | null = null;
    server.use((_req, res, body) => {
      exchange = form(body);
      json(res, 200, { access_token: 'GAT', refresh_token: 'GRT', expires_in: 3599 });
    });
    const tokens = await loopbackLogin({
      sink: 'gphotos',
      authorizeUrl: 'https://accounts.example/o/oauth2/v2/auth',
      tokenUrl: `${server.url}/token`,
      clientId: 'gcid',
      clientSecret: 'gsecret',
      scope: 'photos',
      http,
      extraParams: { access_type: 'offline' },
      prompt: (url) => {
        const u = new URL(url);
        const redirect = u.searchParams.get('redirect_uri')!;
        expect(redirect).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
        expect(u.searchParams.get('code_challenge_method')).toBe('S256');
        challenge = u.searchParams.get('code_challenge');
        expect(u.searchParams.get('access_type')).toBe('offline');
        // A stale/forged redirect is refused; the real one (matching state) completes the login.
        void fetch(`${redirect}?state=wrong&code=EVIL`)
          .then((r) => {
            expect(r.status).toBe(400);
            return fetch(`${redirect}?state=${u.searchParams.get('state')}&code=GOOD`);
          })
          .then((r) => expect(r.status).toBe(200));
      },
    });
    expect(tokens).toMatchObject({ accessToken: 'GAT', refreshToken: 'GRT' });
    expect(exchange).toMatchObject({ grant_type: 'authorization_code', code: 'GOOD', client_id: 'gcid', client_secret: 'gsecret' });
    const { createHash } = await import('node:crypto');
    expect(exchange!.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createHash('sha256').update(exchange!.code_verifier!).digest('base64url')).toBe(challenge);
  });
});

describe('loopbackLogin, defects', () => {
  /** Drives a login whose token endpoint answers `answer`; `browser` plays the browser against the redirect URI. */
  async function login(answer: (res: Parameters<Parameters<typeof server.use>[0]>[1]) => void, browser: (redirect: string, state: string) => Promise<void>, scope = 'photos.append photos.read') {
    server.use((_q, res) => answer(res));
    let browsing: Promise<void> | undefined;
    const result = loopbackLogin({
      sink: 'gphotos',
      authorizeUrl: 'https://accounts.example/auth',
      tokenUrl: `${server.url}/token`,
      clientId: 'gcid',
      scope,
      http,
      prompt: (url) => {
        const u = new URL(url);
        browsing = browser(u.searchParams.get('redirect_uri')!, u.searchParams.get('state')!);
      },
    });
    const outcome = await result.then((t) => ({ ok: true as const, t }), (e) => ({ ok: false as const, e }));
    await browsing;
    return outcome;
  }

  it('refuses a login where the user unticked a requested scope on Google\'s granular consent screen', async () => {
    const out = await login(
      (res) => json(res, 200, { access_token: 'AT', refresh_token: 'RT', expires_in: 3599, scope: 'photos.read' }),
      async (redirect, state) => void (await fetch(`${redirect}?state=${state}&code=C&scope=photos.read`)),
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.e).toMatchObject({ code: 'AUTH_REQUIRED', classification: 'fatal' });
    expect(out.e.message).toContain('photos.append');
    expect(out.e.hint).toMatch(/keepsake login gphotos/);
  });

  it('accepts a token answer without scope (RFC 6749 §5.1: omitted when all requested scopes were granted), in any order', async () => {
    const a = await login(
      (res) => json(res, 200, { access_token: 'AT', refresh_token: 'RT', expires_in: 3599 }),
      async (redirect, state) => void (await fetch(`${redirect}?state=${state}&code=C`)),
    );
    expect(a).toMatchObject({ ok: true, t: { accessToken: 'AT' } });
    const b = await login(
      (res) => json(res, 200, { access_token: 'AT2', refresh_token: 'RT', expires_in: 3599, scope: 'photos.read openid photos.append' }),
      async (redirect, state) => void (await fetch(`${redirect}?state=${state}&code=C`)),
    );
    expect(b).toMatchObject({ ok: true, t: { accessToken: 'AT2' } });
  });

  it('tells the browser the sign-in failed when the code exchange is refused', async () => {
    let page = { status: 0, text: '' };
    const out = await login(
      (res) => json(res, 401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' }),
      async (redirect, state) => {
        const r = await fetch(`${redirect}?state=${state}&code=C`);
        page = { status: r.status, text: await r.text() };
      },
    );
    expect(out).toMatchObject({ ok: false, e: { code: 'AUTH_REQUIRED' } });
    expect(page.status).toBe(400);
    expect(page.text).toContain('Sign-in failed');
    expect(page.text).not.toContain('is signed in');
  });

  it('answers a malformed request on the loopback port with 400 instead of crashing, and still completes', async () => {
    let raw = '';
    const out = await login(
      (res) => json(res, 200, { access_token: 'AT', refresh_token: 'RT', expires_in: 3599 }),
      async (redirect, state) => {
        const port = Number(new URL(redirect).port);
        raw = await new Promise<string>((resolve) => {
          const c = connect(port, '127.0.0.1', () => c.write('GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
          let got = '';
          c.on('data', (d) => {
            got += String(d);
            c.destroy();
          });
          c.on('close', () => resolve(got));
          c.setTimeout(2000, () => c.destroy());
        });
        await fetch(`${redirect}?state=${state}&code=C`);
      },
    );
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(out).toMatchObject({ ok: true, t: { accessToken: 'AT' } });
  });
});

describe('createTokenProvider', () => {
  afterEach(() => server.use((_q, res) => res.end()));

  it('refreshes an expiring token once for concurrent callers and stores the rotated refresh token', async () => {
    const store = createTokenStore(createFileSecretStore(join(dir, 'a.json')), 'k');
    await store.save({ accessToken: 'old', refreshToken: 'R1', expiresAt: Date.now() + 1000 });
    let refreshes = 0;
    server.use((_q, res, body) => {
      refreshes++;
      expect(form(body)).toMatchObject({ grant_type: 'refresh_token', refresh_token: 'R1', client_id: 'cid', scope: 'sc' });
      json(res, 200, { access_token: 'new', refresh_token: 'R2', expires_in: 3600 });
    });
    const p = createTokenProvider({ sink: 'onedrive', store, tokenUrl: `${server.url}/token`, clientId: 'cid', scope: 'sc', http });
    const got = await Promise.all([p.getAccessToken(), p.getAccessToken(), p.getAccessToken()]);
    expect(got).toEqual(['new', 'new', 'new']);
    expect(refreshes).toBe(1);
    expect(await store.load()).toMatchObject({ accessToken: 'new', refreshToken: 'R2' });
  });

  it('refreshes after invalidate (a 401) even when the token looks valid', async () => {
    const store = createTokenStore(createFileSecretStore(join(dir, 'b.json')), 'k');
    await store.save({ accessToken: 'A', refreshToken: 'R', expiresAt: Date.now() + 3_600_000 });
    server.use((_q, res) => json(res, 200, { access_token: 'B', expires_in: 3600 }));
    const p = createTokenProvider({ sink: 'onedrive', store, tokenUrl: `${server.url}/token`, clientId: 'cid', http });
    expect(await p.getAccessToken()).toBe('A');
    p.invalidate('A');
    expect(await p.getAccessToken()).toBe('B');
    // No refresh_token in the answer: the old one is kept.
    expect(await store.load()).toMatchObject({ accessToken: 'B', refreshToken: 'R' });
  });

  it('a revoked refresh token becomes AUTH_REQUIRED with the login hint', async () => {
    const store = createTokenStore(createFileSecretStore(join(dir, 'c.json')), 'k');
    await store.save({ accessToken: 'A', refreshToken: 'R', expiresAt: 0 });
    server.use((_q, res) => json(res, 400, { error: 'invalid_grant', error_description: 'AADSTS70008: The refresh token has expired or been revoked' }));
    const p = createTokenProvider({ sink: 'onedrive', store, tokenUrl: `${server.url}/token`, clientId: 'cid', http });
    const err = await p.getAccessToken().catch((e) => e);
    expect(err).toMatchObject({ code: 'AUTH_REQUIRED', classification: 'fatal', hint: 'Run: keepsake login onedrive' });
  });

  it('no stored login is AUTH_REQUIRED', async () => {
    const store = createTokenStore(createFileSecretStore(join(dir, 'none.json')), 'k');
    const p = createTokenProvider({ sink: 'onedrive', store, tokenUrl: `${server.url}/token`, clientId: 'cid', http });
    await expect(p.getAccessToken()).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
  });
});
