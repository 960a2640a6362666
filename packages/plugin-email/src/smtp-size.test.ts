import { describe, expect, it } from 'vitest';
import { parseEhlo, probeSmtpSize, takeReply } from './smtp-size.js';
import { startTestSmtp } from './test-support.js';

describe('EHLO SIZE probe', () => {
  it('parses multi-line replies and the SIZE keyword', () => {
    expect(takeReply('250-mx.example.com\r\n250-SIZE 35882577\r\n')).toBeUndefined();
    const r = takeReply('250-mx.example.com\r\n250-SIZE 35882577\r\n250 8BITMIME\r\nextra');
    expect(r).toEqual({ code: 250, lines: ['mx.example.com', 'SIZE 35882577', '8BITMIME'], consumed: 53 });
    expect(parseEhlo(r!.lines).maxMessageBytes).toBe(35_882_577);
    expect(parseEhlo(['x', 'SIZE']).maxMessageBytes).toBeUndefined();
    expect(parseEhlo(['x', 'SIZE 0']).maxMessageBytes).toBeUndefined();
  });

  it('reads the advertised SIZE from a real server, and none when it is hidden', async () => {
    const shown = await startTestSmtp({ size: 123_456 });
    const hidden = await startTestSmtp({ size: 123_456, hideSize: true });
    try {
      const a = await probeSmtpSize({ host: '127.0.0.1', port: shown.port, secure: false, timeoutMs: 5000 });
      expect(a.maxMessageBytes).toBe(123_456);
      expect(a.extensions).toContain('AUTH PLAIN LOGIN');
      const b = await probeSmtpSize({ host: '127.0.0.1', port: hidden.port, secure: false, timeoutMs: 5000 });
      expect(b.maxMessageBytes).toBeUndefined();
    } finally {
      await shown.close();
      await hidden.close();
    }
  });

  it('fails with a clear error when nothing listens', async () => {
    await expect(probeSmtpSize({ host: '127.0.0.1', port: 1, secure: false, timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
