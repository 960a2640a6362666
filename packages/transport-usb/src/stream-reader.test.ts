import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkLockdownLength, encodeLockdownMessage, readLockdownMessage } from './lockdown-protocol.js';
import { StreamReader } from './stream-reader.js';

describe('StreamReader', () => {
  it('returns exactly n bytes across chunk boundaries', async () => {
    const s = new PassThrough();
    const r = new StreamReader(s);
    s.write(Buffer.from([1, 2]));
    s.write(Buffer.from([3, 4, 5]));
    expect([...(await r.read(4, 1000))]).toEqual([1, 2, 3, 4]);
    s.write(Buffer.from([6]));
    expect([...(await r.read(2, 1000))]).toEqual([5, 6]);
  });

  it('a TLS error on the stream (an alert after the handshake) is DEVICE_TLS_FAILED; a reset stays DEVICE_DISCONNECTED', async () => {
    const tlsBroken = new PassThrough();
    const r = new StreamReader(tlsBroken, 'talking to lockdownd');
    const pending = r.read(4, 1000);
    tlsBroken.destroy(Object.assign(new Error('tlsv13 alert certificate required'), { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }));
    await expect(pending).rejects.toMatchObject({ code: 'DEVICE_TLS_FAILED', message: expect.stringContaining('talking to lockdownd') });
    const reset = new PassThrough();
    const r2 = new StreamReader(reset);
    const pending2 = r2.read(4, 1000);
    reset.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await expect(pending2).rejects.toMatchObject({ code: 'DEVICE_DISCONNECTED', classification: 'retryable' });
  });

  it('fails with TIMEOUT when nothing arrives', async () => {
    const r = new StreamReader(new PassThrough());
    await expect(r.read(1, 50)).rejects.toMatchObject({ code: 'TIMEOUT', classification: 'retryable' });
  });

  it('completes a read larger than its 8 MiB buffer limit (a big AFC FILE_READ reply) instead of stalling until TIMEOUT', async () => {
    const s = new PassThrough();
    const r = new StreamReader(s);
    const total = 12 * 1024 * 1024;
    const p = r.read(total, 3000);
    // The device sends the reply in socket-sized pieces.
    for (let off = 0; off < total; off += 64 * 1024) s.write(Buffer.alloc(64 * 1024, off / (64 * 1024)));
    const got = await p;
    expect(got.length).toBe(total);
    expect(got[total - 1]).toBe((total / (64 * 1024) - 1) & 0xff);
  });

  it('fails with DEVICE_DISCONNECTED when the stream ends mid-read', async () => {
    const s = new PassThrough();
    const r = new StreamReader(s);
    const p = r.read(10, 5000);
    s.end(Buffer.from([1, 2, 3]));
    await expect(p).rejects.toMatchObject({ code: 'DEVICE_DISCONNECTED' });
  });
});

describe('lockdown framing', () => {
  it('frames with a big-endian length and reads it back', async () => {
    const s = new PassThrough();
    const m = encodeLockdownMessage({ Request: 'QueryType' });
    expect(m.readUInt32BE(0)).toBe(m.length - 4);
    s.write(m);
    expect(await readLockdownMessage(new StreamReader(s), 1000)).toEqual({ Request: 'QueryType' });
  });

  it('rejects an oversized length prefix at once, without waiting for or allocating the body', async () => {
    const s = new PassThrough();
    const b = Buffer.alloc(4);
    b.writeUInt32BE(0xfffffff0, 0);
    s.write(b);
    await expect(readLockdownMessage(new StreamReader(s), 60_000)).rejects.toMatchObject({ code: 'DEVICE_PROTOCOL_ERROR' });
    expect(() => checkLockdownLength(0)).toThrow();
  });

  it('rejects a body that is not a plist dictionary', async () => {
    const s = new PassThrough();
    const body = Buffer.from('<?xml version="1.0"?><plist><array/></plist>');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length, 0);
    s.write(Buffer.concat([len, body]));
    await expect(readLockdownMessage(new StreamReader(s), 1000)).rejects.toMatchObject({ code: 'DEVICE_PROTOCOL_ERROR' });
  });
});
