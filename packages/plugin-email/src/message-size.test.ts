import { randomBytes } from 'node:crypto';
import { createTransport } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { attachmentWireSize, base64WireSize, largestSingleAttachment, MESSAGE_HEADER_ALLOWANCE, textPartWireSize } from './message-size.js';

/** Builds a real message with nodemailer (no network) and returns its size on the wire. */
async function composedSize(files: { name: string; bytes: number }[], text: string): Promise<number> {
  const t = createTransport({ streamTransport: true, buffer: true });
  const info = await t.sendMail({
    from: 'alice@example.com',
    to: 'bob@example.com',
    subject: 'keepsake: 2024-06-01 IMG_0001 (+3 more)',
    text,
    attachments: files.map((f) => ({ filename: f.name, content: randomBytes(f.bytes), contentType: 'image/heic' })),
  });
  return (info.message as Buffer).byteLength;
}

describe('message size estimate', () => {
  it('matches base64 with CRLF every 76 characters', () => {
    expect(base64WireSize(0)).toBe(0);
    expect(base64WireSize(57)).toBe(76 + 2);
    expect(base64WireSize(58)).toBe(80 + 4);
    expect(base64WireSize(3_000_000)).toBe(4_000_000 + 2 * Math.ceil(4_000_000 / 76));
  });

  it('is an upper bound of what nodemailer really sends, and not wildly above it', async () => {
    const cases = [
      [{ name: 'IMG_0001.HEIC', bytes: 1 }],
      [{ name: 'IMG_0001.HEIC', bytes: 1_234_567 }],
      [
        { name: 'Ünïcödé fïlé nämé ✓ with spaces and a long tail to force folding.HEIC', bytes: 300_001 },
        { name: 'IMG_0001.MOV', bytes: 700_000 },
        { name: '写真.JPG', bytes: 5 },
      ],
    ];
    for (const files of cases) {
      const text = files.map((f) => `${f.name}  ${f.bytes} bytes  sha256 ${'a'.repeat(64)}`).join('\n');
      const estimate = MESSAGE_HEADER_ALLOWANCE + textPartWireSize(text) + files.reduce((s, f) => s + attachmentWireSize(f.name, f.bytes), 0);
      const actual = await composedSize(files, text);
      expect(estimate).toBeGreaterThanOrEqual(actual);
      expect(estimate - actual).toBeLessThan(10_000);
    }
  });

  it('largestSingleAttachment fits its own budget', () => {
    for (const limit of [100_000, 20_000_000, 35_882_577]) {
      const n = largestSingleAttachment(limit);
      expect(MESSAGE_HEADER_ALLOWANCE + textPartWireSize('x'.repeat(1024)) + attachmentWireSize('x'.repeat(64), n)).toBeLessThanOrEqual(limit);
      if (limit >= 1_000_000) expect(n).toBeGreaterThan(limit * 0.72);
    }
  });
});
