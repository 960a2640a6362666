/**
 * One simulated iPhone: identity values, the trust prompt, a lock state, paired hosts, lockdownd
 * (with TLS sessions) and the services it starts (AFC).
 */
import { generateKeyPairSync, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  encodeLockdownMessage,
  isDict,
  LOCKDOWN_PORT,
  type PlistDict,
  type PlistValue,
  readLockdownMessage,
  StreamReader,
} from '@keepsake/transport-usb';
import { type AfcFaults, serveAfc } from './afc-server.js';
import { buildCameraRoll, type CameraRollOptions, corruptFixture, type SimFs } from './camera-roll.js';
import { bytesContent } from './content.js';

/** How the simulated person answers "Trust This Computer?". */
export type TrustResponse = 'accept' | 'deny' | { pending: number; then?: 'accept' | 'deny' };

export interface SimDeviceOptions {
  udid?: string;
  name?: string;
  productType?: string;
  productVersion?: string;
  /** USB product id (0x12a8 = iPhone 5 and later). */
  productId?: number;
  trust?: TrustResponse;
  locked?: boolean;
  /** Answer StartService with EnableServiceSSL: the AFC connection then starts with a TLS handshake. */
  serviceSsl?: boolean;
  cameraRoll?: CameraRollOptions;
  fs?: SimFs;
}

interface PairedHost {
  hostId: string;
  deviceCertificate: Buffer;
  /**
   * DER of the certificates a host may present in TLS: the pair record's HostCertificate
   * (pymobiledevice3, keepsake) or its RootCertificate (libimobiledevice with OpenSSL).
   */
  clientCertificates: Buffer[];
}

const AFC_SERVICE = 'com.apple.afc';

export class SimDevice {
  readonly udid: string;
  name: string;
  readonly productType: string;
  readonly productVersion: string;
  readonly productId: number;
  readonly fs: SimFs;
  trust: TrustResponse;
  locked: boolean;
  serviceSsl: boolean;
  readonly faults: AfcFaults = {};
  /** TLS handshakes refused because the host presented no certificate or one not from its pair record. */
  tlsRejections = 0;
  /** Total file bytes served over AFC (for tests). */
  bytesServed = 0;
  /** Sees every AFC FILE_READ before it is answered (path, offset, length). */
  readObserver: ((path: string, offset: number, length: number) => void) | undefined;
  private pendingLeft: number;
  private readonly keyPem: string;
  private readonly publicKeyPem: string;
  private readonly paired = new Map<string, PairedHost>();
  private readonly services = new Map<number, { service: string; tlsHost?: PairedHost }>();
  private nextServicePort = 49152;
  private readonly escrowBag = randomBytes(48);
  private readonly connections = new Set<Duplex>();

  constructor(options: SimDeviceOptions = {}) {
    this.udid = options.udid ?? `00008030-${randomBytes(8).toString('hex').toUpperCase()}`;
    this.name = options.name ?? 'Simulated iPhone';
    this.productType = options.productType ?? 'iPhone14,2';
    this.productVersion = options.productVersion ?? '17.5.1';
    this.productId = options.productId ?? 0x12a8;
    this.trust = options.trust ?? 'accept';
    this.pendingLeft = typeof this.trust === 'object' ? this.trust.pending : 0;
    this.locked = options.locked ?? false;
    this.serviceSsl = options.serviceSsl ?? false;
    this.fs = options.fs ?? buildCameraRoll(options.cameraRoll);
    // 2048-bit like a real device; native generation takes well under a second.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    this.keyPem = privateKey;
    this.publicKeyPem = publicKey;
  }

  setTrust(response: TrustResponse): void {
    this.trust = response;
    this.pendingLeft = typeof response === 'object' ? response.pending : 0;
  }

  /** Forgets every paired host (like "Reset Location & Privacy"). */
  resetPairings(): void {
    this.paired.clear();
  }

  isPairedWith(hostId: string): boolean {
    return this.paired.has(hostId);
  }

  /** Serves `path` with a damaged image instead of its real bytes. */
  corruptFile(path: string): void {
    const f = this.fs.files.get(path);
    if (!f) throw new Error(`no such file ${path}`);
    f.content = bytesContent(corruptFixture());
  }

  /** Announces `extraBytes` more than the file really has. */
  shortenFile(path: string, extraBytes = 1000): void {
    const f = this.fs.files.get(path);
    if (!f) throw new Error(`no such file ${path}`);
    f.reportedSize = f.content.size + extraBytes;
  }

  /** Drops every open connection (the cable was pulled). */
  disconnectAll(): void {
    for (const c of this.connections) c.destroy();
    this.connections.clear();
  }

  /** True when something listens on `port` (lockdownd or a started service). */
  hasPort(port: number): boolean {
    return port === LOCKDOWN_PORT || this.services.has(port);
  }

  /** Hands a usbmuxd-connected stream to whatever listens on `port`. */
  attachStream(port: number, stream: Duplex): void {
    this.connections.add(stream);
    stream.once('close', () => this.connections.delete(stream));
    stream.on('error', () => undefined);
    const service = this.services.get(port);
    if (port === LOCKDOWN_PORT) this.serveLockdown(stream);
    else if (service?.service === AFC_SERVICE)
      serveAfc(service.tlsHost ? this.tlsServer(stream, service.tlsHost) : stream, {
        fs: this.fs,
        model: this.productType,
        faults: this.faults,
        onBytesServed: (n) => {
          this.bytesServed += n;
        },
        onRead: (path, offset, length) => this.readObserver?.(path, offset, length),
      });
    else stream.destroy();
  }

  /**
   * The device side of TLS on an open connection (lockdown after StartSession, or a service with
   * EnableServiceSSL). Like lockdownd it asks for the host's certificate and accepts only one from
   * the pair record it stored at Pair. Node cannot fail a handshake over the certificate itself
   * (its server checks after the handshake), so a refused host gets a fatal TLS alert record on the
   * raw stream, which is then closed (nothing written after it reaches the host): the host sees a TLS error.
   */
  private tlsServer(raw: Duplex, host: PairedHost): tls.TLSSocket {
    const secure = new tls.TLSSocket(raw, {
      isServer: true,
      key: this.keyPem,
      cert: host.deviceCertificate,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
      requestCert: true,
      rejectUnauthorized: false,
    });
    secure.on('error', () => raw.destroy());
    secure.once('secure', () => {
      const presented = secure.getPeerCertificate().raw as Buffer | undefined;
      if (presented && host.clientCertificates.some((c) => c.equals(presented))) return;
      this.tlsRejections += 1;
      const version = { TLSv1: 0x01, 'TLSv1.1': 0x02 }[secure.getProtocol() ?? ''] ?? 0x03;
      // Alert record: fatal (2), handshake_failure (40) without a certificate, bad_certificate (42) with a foreign one.
      raw.end(Buffer.from([0x15, 0x03, version, 0x00, 0x02, 0x02, presented ? 42 : 40]), () => raw.destroy());
    });
    this.connections.add(secure);
    return secure;
  }

  private values(): PlistDict {
    return {
      ActivationState: 'Activated',
      BuildVersion: '21F90',
      CPUArchitecture: 'arm64e',
      DeviceClass: 'iPhone',
      DeviceColor: '1',
      DeviceName: this.name,
      DevicePublicKey: new TextEncoder().encode(this.publicKeyPem),
      HardwareModel: 'D63AP',
      PasswordProtected: this.locked,
      ProductName: 'iPhone OS',
      ProductType: this.productType,
      ProductVersion: this.productVersion,
      ProtocolVersion: '2',
      SerialNumber: 'F2LSIM000001',
      TimeZone: 'Europe/Berlin',
      UniqueChipID: 1234567890,
      UniqueDeviceID: this.udid,
      WiFiAddress: 'a4:83:e7:00:00:01',
    };
  }

  private pairAnswer(record: PlistValue | undefined): PlistDict | string {
    if (!isDict(record)) return 'InvalidPairRecord';
    for (const k of ['DeviceCertificate', 'HostCertificate', 'RootCertificate']) if (!(record[k] instanceof Uint8Array)) return 'InvalidPairRecord';
    if (typeof record.HostID !== 'string' || typeof record.SystemBUID !== 'string') return 'InvalidPairRecord';
    let clientCertificates: Buffer[];
    try {
      clientCertificates = ['HostCertificate', 'RootCertificate'].map((k) => new X509Certificate(record[k] as Uint8Array).raw);
    } catch {
      return 'InvalidPairRecord';
    }
    if (this.paired.has(record.HostID)) return {};
    if (this.locked) return 'PasswordProtected';
    if (typeof this.trust === 'object') {
      if (this.pendingLeft > 0) {
        this.pendingLeft -= 1;
        return 'PairingDialogResponsePending';
      }
      if (this.trust.then === 'deny') return 'UserDeniedPairing';
    } else if (this.trust === 'deny') return 'UserDeniedPairing';
    this.paired.set(record.HostID, { hostId: record.HostID, deviceCertificate: Buffer.from(record.DeviceCertificate as Uint8Array), clientCertificates });
    return { EscrowBag: this.escrowBag };
  }

  private serveLockdown(initial: Duplex): void {
    let stream = initial;
    let reader = new StreamReader(stream, 'serving lockdownd');
    let session: { id: string; host: PairedHost } | undefined;
    const reply = (request: string, body: PlistDict) => stream.write(encodeLockdownMessage({ Request: request, ...body }));
    const fail = (request: string, error: string) => reply(request, { Error: error });

    const loop = async () => {
      for (;;) {
        const msg = await readLockdownMessage(reader, 2 ** 31 - 1);
        const request = typeof msg.Request === 'string' ? msg.Request : '';
        switch (request) {
          case 'QueryType':
            reply(request, { Type: 'com.apple.mobile.lockdown' });
            break;
          case 'GetValue': {
            const values = this.values();
            const key = typeof msg.Key === 'string' ? msg.Key : undefined;
            const domain = typeof msg.Domain === 'string' ? msg.Domain : undefined;
            const echo: PlistDict = {};
            if (key) echo.Key = key;
            if (domain) echo.Domain = domain;
            if (domain) {
              if (domain === 'com.apple.mobile.backup' && key === 'WillEncrypt') reply(request, { ...echo, Value: false });
              else if (!key) reply(request, { ...echo, Value: {} });
              else fail(request, 'MissingValue');
            } else if (!key) reply(request, { ...echo, Value: values });
            else if (values[key] !== undefined) reply(request, { ...echo, Value: values[key] as PlistValue });
            else reply(request, { ...echo, Error: 'MissingValue' });
            break;
          }
          case 'Pair': {
            const answer = this.pairAnswer(msg.PairRecord);
            if (typeof answer === 'string') fail(request, answer);
            else reply(request, answer);
            break;
          }
          case 'ValidatePair': {
            const rec = msg.PairRecord;
            if (isDict(rec) && typeof rec.HostID === 'string' && this.paired.has(rec.HostID)) reply(request, {});
            else fail(request, 'InvalidHostID');
            break;
          }
          case 'Unpair': {
            const rec = msg.PairRecord;
            const hostId = isDict(rec) && typeof rec.HostID === 'string' ? rec.HostID : typeof msg.HostID === 'string' ? msg.HostID : undefined;
            if (hostId && this.paired.delete(hostId)) reply(request, {});
            else fail(request, 'InvalidHostID');
            break;
          }
          case 'StartSession': {
            const host = typeof msg.HostID === 'string' ? this.paired.get(msg.HostID) : undefined;
            if (!host) {
              fail(request, 'InvalidHostID');
              break;
            }
            if (session) {
              fail(request, 'SessionActive');
              break;
            }
            session = { id: randomUUID().toUpperCase(), host };
            reply(request, { SessionID: session.id, EnableSessionSSL: true });
            const secure = this.tlsServer(reader.detach(), host);
            stream = secure;
            reader = new StreamReader(secure, 'serving lockdownd (TLS)');
            break;
          }
          case 'StopSession':
            if (!session || msg.SessionID !== session.id) {
              fail(request, 'InvalidSessionID');
              break;
            }
            reply(request, {});
            session = undefined;
            // Clients send close_notify and hang up; nothing more is expected on this connection.
            stream.end();
            return;
          case 'StartService': {
            if (!session) {
              fail(request, 'InvalidService');
              break;
            }
            const service = typeof msg.Service === 'string' ? msg.Service : '';
            if (service !== AFC_SERVICE) {
              fail(request, 'InvalidService');
              break;
            }
            const port = this.nextServicePort++;
            this.services.set(port, { service, tlsHost: this.serviceSsl ? session.host : undefined });
            reply(request, { Service: service, Port: port, EnableServiceSSL: this.serviceSsl });
            break;
          }
          case 'SetValue':
          case 'RemoveValue':
            if (!session) fail(request, 'SessionInactive');
            else reply(request, {});
            break;
          case 'Goodbye':
            reply(request, {});
            stream.end();
            return;
          default:
            fail(request || 'Unknown', 'InvalidRequest');
        }
      }
    };
    loop().catch(() => stream.destroy());
  }
}

