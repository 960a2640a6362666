import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessTokenProvider, createHttpClient } from './http-client.js';
import { json, startTestServer } from './test-server.js';

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer((_q, res) => res.end());
});
afterAll(() => server.close());

const fast = { service: 'Test', sink: 'test', backoffBaseMs: 1, backoffMaxMs: 5 };

describe('createHttpClient', () => {
  it('retries 503 bursts and 500s, then returns the success', async () => {
    let calls = 0;
    server.use((_q, res) => {
      calls++;
      if (calls <= 3) return json(res, calls === 2 ? 500 : 503, { error: { code: 'serviceNotAvailable' } });
      json(res, 200, { ok: true });
    });
    const http = createHttpClient(fast);
    expect(await http.json({ method: 'GET', url: `${server.url}/x` })).toEqual({ ok: true });
    expect(calls).toBe(4);
    await http.close();
  });

  it('waits for Retry-After on 429 before retrying (it wins over backoff)', async () => {
    const times: number[] = [];
    server.use((_q, res) => {
      times.push(performance.now());
      if (times.length === 1) return json(res, 429, { error: { code: 'activityLimitReached' } }, { 'retry-after': '1' });
      json(res, 200, {});
    });
    const http = createHttpClient({ ...fast, backoffMaxMs: 1 });
    await http.request({ method: 'GET', url: `${server.url}/x` });
    expect(times).toHaveLength(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    await http.close();
  });

  it('does not retry other 4xx and maps them to typed errors', async () => {
    let calls = 0;
    server.use((req, res) => {
      calls++;
      const status = Number(req.url!.slice(1));
      json(res, status, { error: { code: 'x', message: `status ${status}` } });
    });
    const http = createHttpClient(fast);
    await expect(http.request({ method: 'GET', url: `${server.url}/400` })).rejects.toMatchObject({ code: 'HTTP_CLIENT_ERROR', classification: 'permanent' });
    await expect(http.request({ method: 'GET', url: `${server.url}/404` })).rejects.toMatchObject({ code: 'SINK_NOT_FOUND' });
    await expect(http.request({ method: 'GET', url: `${server.url}/409` })).rejects.toMatchObject({ code: 'SINK_ALREADY_EXISTS' });
    expect(calls).toBe(3);
    const accepted = await http.request({ method: 'GET', url: `${server.url}/404`, accept: [404] });
    expect(accepted.status).toBe(404);
    await http.close();
  });

  it('surfaces a daily quota as QUOTA_EXHAUSTED (fatal, not retried)', async () => {
    let calls = 0;
    server.use((_q, res) => {
      calls++;
      json(res, 429, { error: { code: 429, message: 'Quota exceeded for quota metric', status: 'RESOURCE_EXHAUSTED' } });
    });
    const http = createHttpClient(fast);
    const err = await http.request({ method: 'GET', url: `${server.url}/q` }).catch((e) => e);
    expect(err).toMatchObject({ code: 'QUOTA_EXHAUSTED', classification: 'fatal' });
    expect(err.message).toContain('daily quota reached, resume tomorrow');
    expect(calls).toBe(1);
    await http.close();
  });

  it('retries a connection reset', async () => {
    let calls = 0;
    server.use((req, res) => {
      calls++;
      if (calls === 1) return req.socket.destroy();
      json(res, 200, { after: 'reset' });
    });
    const http = createHttpClient(fast);
    expect(await http.json({ method: 'GET', url: `${server.url}/r` })).toEqual({ after: 'reset' });
    expect(calls).toBe(2);
    await http.close();
  });

  it('does not retry a POST unless told to', async () => {
    let calls = 0;
    server.use((_q, res) => {
      calls++;
      json(res, 503, {});
    });
    const http = createHttpClient(fast);
    await expect(http.request({ method: 'POST', url: `${server.url}/p`, json: {} })).rejects.toMatchObject({ code: 'HTTP_SERVER_ERROR' });
    expect(calls).toBe(1);
    await http.close();
  });

  it('bounds every request by a timeout', async () => {
    server.use(() => {
      /* never answers */
    });
    const http = createHttpClient({ ...fast, timeoutMs: 150, attempts: 2 });
    const started = performance.now();
    await expect(http.request({ method: 'GET', url: `${server.url}/slow` })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(2000);
    await http.close();
  });

  it('honours the caller AbortSignal immediately', async () => {
    server.use(() => {});
    const http = createHttpClient(fast);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(http.request({ method: 'GET', url: `${server.url}/slow`, signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    await http.close();
  });

  it('limits requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    server.use(async (_q, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      json(res, 200, {});
    });
    const http = createHttpClient({ ...fast, concurrency: 3 });
    await Promise.all(Array.from({ length: 10 }, () => http.request({ method: 'GET', url: `${server.url}/c` })));
    expect(peak).toBe(3);
    await http.close();
  });

  it('adds the bearer token, refreshes once on 401, and maps a second 401 to AUTH_REQUIRED', async () => {
    let valid = 'T2';
    server.use((req, res) => {
      if (req.headers.authorization === `Bearer ${valid}`) return json(res, 200, { user: 'me' });
      json(res, 401, { error: { code: 'InvalidAuthenticationToken' } });
    });
    let current = 'T1';
    const invalidated: string[] = [];
    const auth: AccessTokenProvider = {
      getAccessToken: async () => current,
      invalidate: (t) => {
        invalidated.push(t);
        current = 'T2';
      },
    };
    const http = createHttpClient({ ...fast, auth });
    expect(await http.json({ method: 'GET', url: `${server.url}/me` })).toEqual({ user: 'me' });
    expect(invalidated).toEqual(['T1']);
    valid = 'nobody';
    const err = await http.request({ method: 'GET', url: `${server.url}/me` }).catch((e) => e);
    expect(err).toMatchObject({ code: 'AUTH_REQUIRED', classification: 'fatal', hint: 'Run: keepsake login test' });
    await http.close();
  });

  it('hands a long Retry-After to the caller instead of sleeping inside the request', async () => {
    server.use((_q, res) => json(res, 429, {}, { 'retry-after': '3600' }));
    const http = createHttpClient(fast);
    const err = await http.request({ method: 'GET', url: `${server.url}/x` }).catch((e) => e);
    expect(err).toMatchObject({ code: 'RATE_LIMITED', classification: 'retryable', retryAfterMs: 3_600_000 });
    await http.close();
  });
});
