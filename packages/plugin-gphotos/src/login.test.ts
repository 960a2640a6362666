import { PassThrough, Readable } from 'node:stream';
import type { CommandContext } from '@keepsake/core';
import { createTokenStore } from '@keepsake/transport-cloud';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeGooglePhotos, startFakeGooglePhotos } from './fake-google-photos.js';
import { gphotosSink } from './index.js';
import { GPHOTOS_SCOPES, tokenKey } from './options.js';
import { factoryContext, fakeOptions, persistentResume, photo, putContext } from './test-support.js';

let fake: FakeGooglePhotos;
beforeEach(async () => {
  fake = await startFakeGooglePhotos();
});
afterEach(async () => {
  await fake.close();
});

function commandContext(args: string[]) {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (d) => {
    out += String(d);
  });
  const ctx: CommandContext & { args: string[] } = { ...factoryContext(), stdin: Readable.from([]), stdout, stderr: new PassThrough(), interactive: false, args };
  return { ctx, out: () => out };
}

/** Plays the browser: opens the consent URL keepsake printed and follows Google's redirect to the loopback listener. */
async function actAsBrowser(consentUrl: string, expectedPage = 200): Promise<string> {
  const consent = await fetch(consentUrl, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const back = consent.headers.get('location')!;
  expect(back).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?code=/);
  const page = await fetch(back);
  expect(page.status).toBe(expectedPage);
  return back;
}

describe('keepsake login gphotos (loopback + PKCE), driven headless', () => {
  it('prints the consent URL, receives the redirect on 127.0.0.1, exchanges the code with the PKCE verifier, stores tokens', async () => {
    const options = fakeOptions(fake);
    const { ctx, out } = commandContext(['--no-browser']);
    const login = gphotosSink.login!(options, ctx);
    await expect.poll(() => out(), { timeout: 5000 }).toContain('Open this link');
    const consentUrl = out().match(/(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/)![1]!;
    const q = new URL(consentUrl).searchParams;
    expect(q.get('scope')!.split(' ')).toEqual(GPHOTOS_SCOPES);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('access_type')).toBe('offline');
    expect(q.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await actAsBrowser(consentUrl);
    await login;
    expect(fake.counts.tokenExchanges).toBe(1);
    expect(out()).toContain('Signed in to Google Photos');
    const tokens = await createTokenStore(ctx.secrets, tokenKey(options)).load();
    expect(tokens?.refreshToken).toMatch(/^rt-/);

    // the stored login works for the sink, then logout removes it
    const sink = await gphotosSink.create(options, ctx);
    const out2 = await Promise.all([sink.put(photo('L1.JPG', 100), putContext(persistentResume())), sink.flush!({ signal: ctx.signal, logger: ctx.logger })]);
    expect(out2[0].items[0]!.remoteId).toBe(fake.items[0]!.id);
    await sink.close?.();
    await gphotosSink.logout!(options, ctx);
    expect(await createTokenStore(ctx.secrets, tokenKey(options)).load()).toBeUndefined();
    await expect(gphotosSink.create(options, ctx)).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
  });

  it('a wrong client secret fails the login with AUTH_REQUIRED and stores nothing', async () => {
    const options = fakeOptions(fake, { clientSecret: 'wrong' });
    const { ctx, out } = commandContext(['--no-browser']);
    const login = gphotosSink.login!(options, ctx);
    void login.catch(() => {});
    await expect.poll(() => out(), { timeout: 5000 }).toContain('Open this link');
    // the browser page says it failed too (it waits for the code exchange)
    await actAsBrowser(out().match(/(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/)![1]!, 400);
    await expect(login).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(await createTokenStore(ctx.secrets, tokenKey(options)).load()).toBeUndefined();
  });
});
