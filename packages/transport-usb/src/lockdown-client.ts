/**
 * lockdownd client (device port 62078): identity values, pairing, the TLS session and starting
 * services such as AFC.
 */
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { isKeepsakeError, KeepsakeError } from '@keepsake/core';
import { lockdownError } from './lockdown-errors.js';
import { encodeLockdownMessage, readLockdownMessage } from './lockdown-protocol.js';
import { type PairRecord, publicPairRecord } from './pairing.js';
import type { PlistDict, PlistValue } from './plist.js';
import { DEFAULT_READ_TIMEOUT_MS, disconnectedError, StreamReader, timeoutError, tlsFailedError } from './stream-reader.js';
import type { UsbmuxClient, UsbmuxDevice } from './usbmux-client.js';
import { LOCKDOWN_PORT } from './usbmux-protocol.js';

export interface LockdownOptions {
  label?: string;
  timeoutMs?: number;
}

export interface StartedService {
  service: string;
  port: number;
  ssl: boolean;
}

export class LockdownClient {
  private reader: StreamReader;
  private readonly label: string;
  private readonly timeoutMs: number;
  private session = false;
  /** Sent back with StopSession; a StartSession reply may lack it (libimobiledevice only logs that). */
  private sessionId: string | undefined;

  constructor(stream: Duplex, options: LockdownOptions = {}) {
    this.reader = new StreamReader(stream, 'talking to the iPhone (lockdownd)');
    this.label = options.label ?? 'keepsake';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  }

  static async connect(usbmux: UsbmuxClient, device: UsbmuxDevice, options?: LockdownOptions): Promise<LockdownClient> {
    return new LockdownClient(await usbmux.connect(device.deviceId, LOCKDOWN_PORT), options);
  }

  get inSession(): boolean {
    return this.session;
  }

  /** Sends one request and returns its reply; a reply with `Error` becomes a typed KeepsakeError. */
  async request(request: string, args: PlistDict = {}): Promise<PlistDict> {
    this.reader.stream.write(encodeLockdownMessage({ Label: this.label, Request: request, ...args }));
    const reply = await readLockdownMessage(this.reader, this.timeoutMs, `waiting for lockdownd (${request})`);
    if (typeof reply.Error === 'string') throw lockdownError(reply.Error, request);
    if (reply.Result === 'Failure') throw lockdownError('Failure', request);
    // QueryType replies need not echo; some iOS versions answer Unpair with Request "ValidatePair"
    // (libimobiledevice skips the check for both as well).
    if (request !== 'QueryType' && request !== 'Unpair' && reply.Request !== request)
      throw new KeepsakeError('DEVICE_PROTOCOL_ERROR', `lockdownd answered ${String(reply.Request)} to ${request}`, {
        hint: 'Reconnect the iPhone and run again.',
      });
    return reply;
  }

  async queryType(): Promise<string> {
    const reply = await this.request('QueryType');
    return typeof reply.Type === 'string' ? reply.Type : '';
  }

  async getValue(key?: string, domain?: string): Promise<PlistValue | undefined> {
    const args: PlistDict = {};
    if (key) args.Key = key;
    if (domain) args.Domain = domain;
    return (await this.request('GetValue', args)).Value;
  }

  async getString(key: string): Promise<string | undefined> {
    const v = await this.getValue(key);
    return typeof v === 'string' ? v : undefined;
  }

  /** Sends Pair; returns the EscrowBag the device handed back. Throws DEVICE_TRUST_PENDING etc. */
  async pair(record: PairRecord): Promise<Uint8Array | undefined> {
    const reply = await this.request('Pair', {
      PairRecord: publicPairRecord(record),
      ProtocolVersion: '2',
      PairingOptions: { ExtendedPairingErrors: true },
    });
    return reply.EscrowBag instanceof Uint8Array ? reply.EscrowBag : undefined;
  }

  async validatePair(record: PairRecord): Promise<void> {
    await this.request('ValidatePair', { PairRecord: publicPairRecord(record), ProtocolVersion: '2' });
  }

  async unpair(record: PairRecord): Promise<void> {
    await this.request('Unpair', { PairRecord: publicPairRecord(record), ProtocolVersion: '2' });
  }

  /** StartSession, then TLS on the same stream when the device asks for it (it always does). */
  async startSession(record: PairRecord): Promise<void> {
    const reply = await this.request('StartSession', { HostID: record.HostID, SystemBUID: record.SystemBUID });
    // libimobiledevice (lockdownd_start_session) only logs a reply without SessionID and carries on.
    this.sessionId = typeof reply.SessionID === 'string' ? reply.SessionID : undefined;
    this.session = true;
    if (reply.EnableSessionSSL !== true) return;
    try {
      await this.upgradeToTls(record);
    } catch (err) {
      // Nothing more can be said on this connection (not even StopSession): close() only hangs up.
      this.session = false;
      this.sessionId = undefined;
      throw err;
    }
  }

  /** StopSession needs the SessionID; without one there is nothing to send (libimobiledevice sends nothing either). */
  async stopSession(): Promise<void> {
    if (!this.session) return;
    const id = this.sessionId;
    this.session = false;
    this.sessionId = undefined;
    if (id !== undefined) await this.request('StopSession', { SessionID: id });
  }

  async startService(service: string, escrowBag?: Uint8Array): Promise<StartedService> {
    const args: PlistDict = { Service: service };
    if (escrowBag) args.EscrowBag = escrowBag;
    const reply = await this.request('StartService', args);
    if (typeof reply.Port !== 'number' || reply.Port < 1 || reply.Port > 65535)
      throw new KeepsakeError('DEVICE_PROTOCOL_ERROR', `StartService ${service} returned no valid port`, { hint: 'Reconnect the iPhone and run again.' });
    return { service, port: reply.Port, ssl: reply.EnableServiceSSL === true };
  }

  /** Ends the session (best effort) and closes the connection. */
  async close(): Promise<void> {
    try {
      if (this.session) await this.stopSession();
    } catch {
      // The phone may already be gone; closing is what matters.
    } finally {
      this.reader.stream.destroy();
    }
  }

  private async upgradeToTls(record: PairRecord): Promise<void> {
    const socket = await startHostTls(this.reader.detach(), record, this.timeoutMs, 'starting the encrypted session');
    this.reader = new StreamReader(socket, 'talking to the iPhone (lockdownd, encrypted)');
  }
}

/**
 * Error codes with which a handshake ends because the link went away (cable pulled, phone
 * restarted): Node reports a peer that closed before the handshake finished as ECONNRESET
 * ("socket disconnected before secure TLS connection was established"), a reset as ECONNRESET too.
 */
const LINK_LOST_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ENOTCONN', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

/** A failed handshake: retryable DEVICE_DISCONNECTED when the connection closed, DEVICE_TLS_FAILED for a TLS error (alert, bad certificate, not TLS). */
function tlsHandshakeError(err: Error, what: string): KeepsakeError {
  if (isKeepsakeError(err) && err.code !== 'DEVICE_DISCONNECTED') return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (isKeepsakeError(err) || (code !== undefined && LINK_LOST_CODES.has(code))) return disconnectedError(what, err);
  return tlsFailedError(what, err);
}

/**
 * TLS as the host (client) on a stream that is already open: the lockdown connection after
 * StartSession answered EnableSessionSSL, or a service connection whose StartService answered
 * EnableServiceSSL. Host certificate/key from the pair record (lockdownd checks it against the
 * pair record it stored); the phone's certificate is not verified (iOS presents one nobody can
 * verify; trust comes from the pair record instead).
 */
export async function startHostTls(raw: Duplex, record: PairRecord, timeoutMs: number, what: string): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    socket: raw,
    cert: Buffer.from(record.HostCertificate),
    key: Buffer.from(record.HostPrivateKey),
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    minVersion: 'TLSv1',
    // Older iOS uses SHA-1 certificates and legacy suites.
    ciphers: 'DEFAULT:@SECLEVEL=0',
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(timeoutError(what, timeoutMs));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve();
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(tlsHandshakeError(err, what));
    };
    socket.once('error', onError);
  });
  return socket;
}
