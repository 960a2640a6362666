import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import { type Duplex, duplexPair } from 'node:stream';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { LockdownClient, startHostTls } from './lockdown-client.js';
import { encodeLockdownMessage, readLockdownMessage } from './lockdown-protocol.js';
import { createPairRecord } from './pairing.js';
import type { PlistDict } from './plist.js';
import { StreamReader } from './stream-reader.js';

/** A lockdownd stand-in answering each request with `answer(request)`; records what it received. */
function fakeLockdownd(answer: (req: PlistDict) => PlistDict) {
  const [client, device] = duplexPair();
  const seen: PlistDict[] = [];
  const reader = new StreamReader(device);
  void (async () => {
    for (;;) {
      const req = await readLockdownMessage(reader, 5000).catch(() => undefined);
      if (!req) return;
      seen.push(req);
      device.write(encodeLockdownMessage(answer(req)));
    }
  })();
  return { client, seen };
}

const key = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
const record = createPairRecord(key.publicKey, 'BUID-1');

/**
 * A lockdownd stand-in that switches to TLS (device certificate from `record`) after answering
 * StartSession, as the phone does. `onClientHello` replaces the TLS server: it gets the raw
 * stream once the host's first handshake bytes arrive.
 */
function tlsLockdownd(startSession: PlistDict, onClientHello?: (device: Duplex) => void) {
  const [client, device] = duplexPair();
  const seen: PlistDict[] = [];
  void (async () => {
    let reader = new StreamReader(device);
    let stream: Duplex = device;
    for (;;) {
      const req = await readLockdownMessage(reader, 5000).catch(() => undefined);
      if (!req) return;
      seen.push(req);
      const request = String(req.Request);
      if (request === 'StartSession') {
        device.write(encodeLockdownMessage({ Request: request, ...startSession }));
        const raw = reader.detach();
        if (onClientHello) {
          raw.once('data', () => onClientHello(raw));
          raw.resume();
          return;
        }
        const secure = new tls.TLSSocket(raw, { isServer: true, key: key.privateKey, cert: Buffer.from(record.DeviceCertificate) });
        secure.on('error', () => raw.destroy());
        stream = secure;
        reader = new StreamReader(secure);
      } else if (request === 'GetValue') stream.write(encodeLockdownMessage({ Request: request, Key: req.Key ?? '', Value: 'Sim' }));
      else stream.write(encodeLockdownMessage({ Request: request }));
    }
  })();
  return { client, seen };
}

describe('LockdownClient against constructed replies', () => {
  it('accepts an Unpair reply that echoes ValidatePair (some iOS versions; libimobiledevice does not check it either)', async () => {
    const { client, seen } = fakeLockdownd(() => ({ Request: 'ValidatePair', Result: 'Success' }));
    const ld = new LockdownClient(client, { timeoutMs: 2000 });
    await ld.unpair(record);
    expect(seen[0]).toMatchObject({ Request: 'Unpair', ProtocolVersion: '2', PairRecord: { HostID: record.HostID } });
    await ld.close();
  });

  it('still rejects a mismatched echo for other requests', async () => {
    const { client } = fakeLockdownd(() => ({ Request: 'Other', Value: 'x' }));
    const ld = new LockdownClient(client, { timeoutMs: 2000 });
    await expect(ld.getValue('DeviceName')).rejects.toMatchObject({ code: 'DEVICE_PROTOCOL_ERROR' });
    await ld.close();
  });

  it('an Unpair error is still an error', async () => {
    const { client } = fakeLockdownd(() => ({ Request: 'Unpair', Error: 'InvalidHostID' }));
    const ld = new LockdownClient(client, { timeoutMs: 2000 });
    await expect(ld.unpair(record)).rejects.toMatchObject({ code: 'DEVICE_NOT_PAIRED' });
    await ld.close();
  });
});

describe('StartSession and its TLS against constructed devices', () => {
  it('goes on without a SessionID in the StartSession reply, like libimobiledevice, and then sends no StopSession', async () => {
    const { client, seen } = tlsLockdownd({ EnableSessionSSL: true });
    const ld = new LockdownClient(client, { timeoutMs: 2000 });
    await ld.startSession(record);
    expect(ld.inSession).toBe(true);
    expect(await ld.getValue('DeviceName')).toBe('Sim');
    await ld.close();
    expect(ld.inSession).toBe(false);
    expect(seen.map((r) => r.Request)).toEqual(['StartSession', 'GetValue']);
  });

  it('sends StopSession with the SessionID it was given', async () => {
    const { client, seen } = tlsLockdownd({ SessionID: 'S-1', EnableSessionSSL: true });
    const ld = new LockdownClient(client, { timeoutMs: 2000 });
    await ld.startSession(record);
    await ld.stopSession();
    expect(seen.at(-1)).toMatchObject({ Request: 'StopSession', SessionID: 'S-1' });
    await ld.close();
  });

  it('a StartSession handshake cut off by an unplug is the retryable DEVICE_DISCONNECTED', async () => {
    const { client } = tlsLockdownd({ SessionID: 'S-1', EnableSessionSSL: true }, (device) => device.destroy());
    const ld = new LockdownClient(client, { timeoutMs: 2000 });
    const started = Date.now();
    await expect(ld.startSession(record)).rejects.toMatchObject({
      code: 'DEVICE_DISCONNECTED',
      classification: 'retryable',
      message: expect.stringContaining('starting the encrypted session'),
      hint: expect.stringMatching(/finished files are kept and the rest resumes/),
    });
    // Closing does not wait for a StopSession answer on a connection that is gone.
    await ld.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a StartSession handshake answered with a TLS alert stays DEVICE_TLS_FAILED', async () => {
    // A fatal handshake_failure alert record, as a TLS server that refuses the host sends it.
    const { client } = tlsLockdownd({ SessionID: 'S-1', EnableSessionSSL: true }, (device) => device.end(Buffer.from('15030300020228', 'hex')));
    const ld = new LockdownClient(client, { timeoutMs: 2000 });
    await expect(ld.startSession(record)).rejects.toMatchObject({ code: 'DEVICE_TLS_FAILED', cause: expect.objectContaining({ code: expect.stringMatching(/^ERR_SSL_/) }) });
    await ld.close();
  });
});

describe('startHostTls (EnableServiceSSL connections) over 127.0.0.1', () => {
  /** A TCP connection to a server that does `onClientHello` with the first bytes the host sends. */
  async function connectTo(onClientHello: (socket: net.Socket) => void): Promise<{ socket: net.Socket; close: () => void }> {
    const server = net.createServer((s) => s.once('data', () => onClientHello(s)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    return { socket, close: () => server.close() };
  }

  it('a connection closed or reset mid-handshake is DEVICE_DISCONNECTED; a TLS error is DEVICE_TLS_FAILED', async () => {
    const cases: [string, (s: net.Socket) => void, string][] = [
      ['closed', (s) => s.end(), 'DEVICE_DISCONNECTED'],
      ['reset', (s) => s.resetAndDestroy(), 'DEVICE_DISCONNECTED'],
      ['bad certificate alert', (s) => s.end(Buffer.from('1503030002022a', 'hex')), 'DEVICE_TLS_FAILED'],
      ['not TLS at all', (s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'), 'DEVICE_TLS_FAILED'],
    ];
    for (const [what, act, code] of cases) {
      const { socket, close } = await connectTo(act);
      try {
        await expect(startHostTls(socket, record, 2000, 'starting the encrypted AFC connection'), what).rejects.toMatchObject({ code });
      } finally {
        socket.destroy();
        close();
      }
    }
  });
});
