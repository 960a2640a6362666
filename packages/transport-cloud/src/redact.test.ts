import { describe, expect, it } from 'vitest';
import { redact, redactUrl } from './redact.js';

describe('redact', () => {
  it('removes bearer tokens, JSON and form credentials', () => {
    const text = 'Authorization: Bearer eyJ0.abc-_~+/= {"access_token":"AT1","refresh_token":"RT1","scope":"x"} code=abc&state=s refresh_token=RT2';
    const out = redact(text);
    for (const secret of ['eyJ0', 'AT1', 'RT1', 'RT2', 'code=abc']) expect(out).not.toContain(secret);
    expect(out).toContain('"scope":"x"');
    expect(out).toContain('state=s');
  });
  it('drops query strings of URLs (pre-authenticated upload URLs)', () => {
    expect(redactUrl('https://api.onedrive.com/up/abc?tempauth=SECRET')).toBe('https://api.onedrive.com/up/abc?[redacted]');
    expect(redactUrl('https://graph.microsoft.com/v1.0/me/drive')).toBe('https://graph.microsoft.com/v1.0/me/drive');
  });
});
