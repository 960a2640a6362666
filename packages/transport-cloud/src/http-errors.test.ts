import { describe, expect, it } from 'vitest';
import { httpError } from './http-errors.js';

const o = { service: 'OneDrive', sink: 'onedrive' };

describe('httpError', () => {
  it.each([
    [401, '', 'AUTH_REQUIRED', 'fatal'],
    [403, '{"error":{"code":"accessDenied"}}', 'HTTP_CLIENT_ERROR', 'permanent'],
    [404, '', 'SINK_NOT_FOUND', 'permanent'],
    [408, '', 'HTTP_SERVER_ERROR', 'retryable'],
    [409, '', 'SINK_ALREADY_EXISTS', 'permanent'],
    [413, '', 'TOO_LARGE', 'permanent'],
    [429, '{"error":{"code":"activityLimitReached"}}', 'RATE_LIMITED', 'retryable'],
    [500, '', 'HTTP_SERVER_ERROR', 'retryable'],
    [503, '', 'HTTP_SERVER_ERROR', 'retryable'],
    [507, '{"error":{"code":"insufficientStorage"}}', 'QUOTA_EXHAUSTED', 'fatal'],
    [429, '{"error":{"status":"RESOURCE_EXHAUSTED","message":"Quota exceeded"}}', 'QUOTA_EXHAUSTED', 'fatal'],
  ])('%i %s → %s (%s)', (status, body, code, classification) => {
    expect(httpError({ status, body }, o)).toMatchObject({ code, classification });
  });

  it('503 with Retry-After is a rate limit carrying the delay', () => {
    expect(httpError({ status: 503, retryAfterMs: 5000 }, o)).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 5000 });
  });

  it('says what to do and keeps credentials out of the message', () => {
    const auth = httpError({ status: 401, body: '{"error":"invalid_token","access_token":"SECRET"}' }, o);
    expect(auth.hint).toBe('Run: keepsake login onedrive');
    const other = httpError({ status: 400, body: 'bad request for refresh_token=SECRET2', method: 'POST', url: 'https://x/y' }, o);
    expect(other.message).toContain('OneDrive answered 400 to POST');
    expect(other.message).not.toContain('SECRET2');
    const quota = httpError({ status: 429, body: '{"error":{"status":"RESOURCE_EXHAUSTED"}}' }, { service: 'Google Photos', sink: 'gphotos' });
    expect(quota.message).toContain('daily quota reached, resume tomorrow');
  });

  it('a service can recognise its own quota answers', () => {
    const e = httpError({ status: 400, body: 'UploadsPerDay exceeded' }, { ...o, detectQuota: (f) => (/PerDay/.test(f.body ?? '') ? 'daily upload limit' : undefined) });
    expect(e).toMatchObject({ code: 'QUOTA_EXHAUSTED', classification: 'fatal' });
  });
});
