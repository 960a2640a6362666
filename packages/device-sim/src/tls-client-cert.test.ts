/**
 * lockdownd asks for the host's certificate in every TLS handshake and accepts only one from the
 * pair record it stored at Pair; the simulator does the same, so a client that presents none or a
 * foreign one fails here as it would on a phone.
 */
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  createPairRecord,
  encodeLockdownMessage,
  LockdownClient,
  openAfc,
  openLockdownSession,
  type PairRecord,
  readLockdownMessage,
  StreamReader,
  UsbmuxClient,
  type UsbmuxDevice,
} from '@keepsake/transport-usb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimDevice } from './sim-device.js';
import { Simulator } from './simulator.js';

/** A TLS handshake as a host on `raw` with `identity` (or none): 'ok' once data flows, else the error code. */
async function handshake(raw: Duplex, identity?: { cert: Uint8Array; key: Uint8Array }, maxVersion?: tls.SecureVersion): Promise<string> {
  const socket = tls.connect({
    socket: raw,
    maxVersion,
    rejectUnauthorized: false,
    minVersion: 'TLSv1',
    ciphers: 'DEFAULT:@SECLEVEL=0',
    ...(identity ? { cert: Buffer.from(identity.cert), key: Buffer.from(identity.key) } : {}),
  });
  try {
    return await new Promise<string>((resolve) => {
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      socket.once('close', () => resolve('closed'));
      // Ask lockdownd something: an accepted host gets an answer, a refused one the alert.
      socket.once('secureConnect', () => socket.write(encodeLockdownMessage({ Request: 'QueryType' })));
      socket.once('data', () => resolve('ok'));
    });
  } finally {
    socket.destroy();
  }
}

describe('the simulated lockdownd checks the TLS client certificate against the pair record', () => {
  let sim: Simulator;
  let phone: SimDevice;
  let usbmux: UsbmuxClient;
  let device: UsbmuxDevice;
  let record: PairRecord;
  /** Valid certificate and key, but from another pairing. */
  let foreign: PairRecord;

  beforeAll(async () => {
    sim = await Simulator.start({ devices: [{ cameraRoll: { assets: 3 } }] });
    phone = sim.devices[0] as SimDevice;
    usbmux = new UsbmuxClient({ env: sim.env(), timeoutMs: 5000 });
    [device] = (await usbmux.listDevices()) as [UsbmuxDevice];
    const session = await openLockdownSession(usbmux, device);
    record = session.record;
    const key = await session.lockdown.getValue('DevicePublicKey');
    await session.lockdown.close();
    foreign = createPairRecord(new TextDecoder().decode(key as Uint8Array), record.SystemBUID);
  });
  afterAll(() => sim.stop());

  /** A lockdown connection right after StartSession answered EnableSessionSSL: the raw stream the handshake runs on. */
  async function afterStartSession(): Promise<Duplex> {
    const stream = await usbmux.connect(device.deviceId, 62078);
    const reader = new StreamReader(stream);
    stream.write(encodeLockdownMessage({ Request: 'StartSession', HostID: record.HostID, SystemBUID: record.SystemBUID }));
    expect(await readLockdownMessage(reader, 5000)).toMatchObject({ EnableSessionSSL: true });
    return reader.detach();
  }

  it('keepsake presents the host certificate, on the session and on an EnableServiceSSL connection', async () => {
    const before = phone.tlsRejections;
    phone.serviceSsl = true;
    try {
      const afc = await openAfc(usbmux, device);
      expect(await afc.readDir('/DCIM')).toContain('100APPLE');
      afc.close();
    } finally {
      phone.serviceSsl = false;
    }
    expect(phone.tlsRejections).toBe(before);
  });

  it("keepsake's client with a certificate from another pairing fails with DEVICE_TLS_FAILED", async () => {
    const before = phone.tlsRejections;
    const ld = await LockdownClient.connect(usbmux, device, { timeoutMs: 5000 });
    // With TLS 1.3 the refusal reaches the host after its side of the handshake: on the first request.
    const attempt = (async () => {
      await ld.startSession({ ...record, HostCertificate: foreign.HostCertificate, HostPrivateKey: foreign.HostPrivateKey });
      return ld.getValue('DeviceName');
    })();
    await expect(attempt).rejects.toMatchObject({ code: 'DEVICE_TLS_FAILED' });
    await ld.close();
    expect(phone.tlsRejections).toBe(before + 1);
  });

  it('refuses a handshake without a certificate or with a foreign one; accepts HostCertificate and RootCertificate (libimobiledevice presents the root)', async () => {
    expect(await handshake(await afterStartSession())).toMatch(/^ERR_SSL_/);
    expect(await handshake(await afterStartSession(), { cert: foreign.HostCertificate, key: foreign.HostPrivateKey })).toMatch(/^ERR_SSL_/);
    expect(await handshake(await afterStartSession(), { cert: foreign.RootCertificate, key: foreign.RootPrivateKey })).toMatch(/^ERR_SSL_/);
    // Up to TLS 1.2 the alert arrives inside the handshake and names the reason.
    expect(await handshake(await afterStartSession(), undefined, 'TLSv1.2')).toMatch(/^ERR_SSL_.*ALERT_HANDSHAKE_FAILURE$/);
    expect(await handshake(await afterStartSession(), { cert: foreign.HostCertificate, key: foreign.HostPrivateKey }, 'TLSv1.2')).toMatch(/^ERR_SSL_.*ALERT_BAD_CERTIFICATE$/);
    expect(await handshake(await afterStartSession(), { cert: record.HostCertificate, key: record.HostPrivateKey }, 'TLSv1.2')).toBe('ok');
    expect(await handshake(await afterStartSession(), { cert: record.HostCertificate, key: record.HostPrivateKey })).toBe('ok');
    expect(await handshake(await afterStartSession(), { cert: record.RootCertificate, key: record.RootPrivateKey })).toBe('ok');
  });

  it('checks the certificate on an EnableServiceSSL service connection too', async () => {
    phone.serviceSsl = true;
    try {
      const { lockdown } = await openLockdownSession(usbmux, device);
      const service = await lockdown.startService('com.apple.afc');
      await lockdown.close();
      expect(service.ssl).toBe(true);
      expect(await handshake(await usbmux.connect(device.deviceId, service.port))).toMatch(/^ERR_SSL_/);
      expect(await handshake(await usbmux.connect(device.deviceId, service.port), { cert: foreign.HostCertificate, key: foreign.HostPrivateKey })).toMatch(/^ERR_SSL_/);
    } finally {
      phone.serviceSsl = false;
    }
  });
});
