/**
 * From "a device usbmuxd lists" to "a lockdown session / an AFC connection": reads or creates the
 * pair record (asking the person to tap Trust when needed), starts the TLS session and services.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { isKeepsakeError, KeepsakeError } from '@keepsake/core';
import { AFC_SERVICE, AfcClient } from './afc-client.js';
import { LockdownClient, type StartedService, startHostTls } from './lockdown-client.js';
import { createPairRecord, type PairRecord, pairRecordFromPlist, pairRecordToPlist } from './pairing.js';
import { decodePlistDict, encodePlist, type PlistDict } from './plist.js';
import { DEFAULT_READ_TIMEOUT_MS } from './stream-reader.js';
import { type WaitForTrustOptions, waitForTrust } from './trust.js';
import type { UsbmuxClient, UsbmuxDevice } from './usbmux-client.js';
import { LOCKDOWN_PORT } from './usbmux-protocol.js';

/** Where pair records live: usbmuxd's store (shared with iTunes/Finder/libimobiledevice) or a folder. */
export interface PairRecordStore {
  read(udid: string): Promise<PlistDict | undefined>;
  save(udid: string, record: PlistDict, deviceId?: number): Promise<void>;
}

export function usbmuxPairStore(usbmux: UsbmuxClient): PairRecordStore {
  return {
    read: (udid) => usbmux.readPairRecord(udid),
    save: (udid, record, deviceId) => usbmux.savePairRecord(udid, encodePlist(record), deviceId),
  };
}

/** keepsake's own store (`<dir>/<UDID>.plist`, mode 0600), for the direct USB transport. */
export function folderPairStore(dir: string): PairRecordStore {
  const file = (udid: string) => {
    if (!/^[A-Za-z0-9-]+$/.test(udid)) throw new KeepsakeError('NAME_UNSAFE', `Unexpected UDID ${JSON.stringify(udid)}`);
    return join(dir, `${udid}.plist`);
  };
  return {
    async read(udid) {
      try {
        return decodePlistDict(await readFile(file(udid)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async save(udid, record) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file(udid)}.tmp-${process.pid}`;
      await writeFile(tmp, encodePlist(record), { mode: 0o600 });
      await rename(tmp, file(udid));
    },
  };
}

export interface SessionOptions {
  label?: string;
  timeoutMs?: number;
  trust?: WaitForTrustOptions;
  pairStore?: PairRecordStore;
}

export interface LockdownSession {
  lockdown: LockdownClient;
  record: PairRecord;
}

/**
 * How bytes reach one phone: through usbmuxd, or straight over USB. Everything above (pairing,
 * sessions, AFC) only needs these three things.
 */
export interface DeviceLink {
  readonly udid: string;
  /** Byte stream to a TCP port on the phone (62078 = lockdownd). */
  connect(port: number): Promise<Duplex>;
  /** This computer's SystemBUID (goes into pair records). */
  readBuid(): Promise<string>;
  readonly pairStore: PairRecordStore;
  /** usbmuxd's device id, passed along when saving a pair record so listeners hear `Paired`. */
  readonly deviceId?: number;
}

export function usbmuxLink(usbmux: UsbmuxClient, device: UsbmuxDevice, pairStore?: PairRecordStore): DeviceLink {
  return {
    udid: device.udid,
    deviceId: device.deviceId,
    connect: (port) => usbmux.connect(device.deviceId, port),
    readBuid: () => usbmux.readBuid(),
    pairStore: pairStore ?? usbmuxPairStore(usbmux),
  };
}

/** Pairs with the device (waiting for Trust), saves and returns the new record. */
export async function pairDevice(lockdown: LockdownClient, usbmux: UsbmuxClient, device: UsbmuxDevice, options: SessionOptions = {}): Promise<PairRecord> {
  return pairOverLink(lockdown, usbmuxLink(usbmux, device, options.pairStore), options);
}

export async function pairOverLink(lockdown: LockdownClient, link: DeviceLink, options: SessionOptions = {}): Promise<PairRecord> {
  const key = await lockdown.getValue('DevicePublicKey');
  if (!(key instanceof Uint8Array) && typeof key !== 'string')
    throw new KeepsakeError('DEVICE_PROTOCOL_ERROR', 'The iPhone did not give its public key', { hint: 'Reconnect the iPhone and try again.' });
  const pem = typeof key === 'string' ? key : new TextDecoder().decode(key);
  const record = createPairRecord(pem, await link.readBuid());
  const wifi = await lockdown.getValue('WiFiAddress').catch(() => undefined);
  if (typeof wifi === 'string') record.WiFiMACAddress = wifi;
  const escrow = await waitForTrust(() => lockdown.pair(record), options.trust);
  if (escrow) record.EscrowBag = escrow;
  await link.pairStore.save(link.udid, pairRecordToPlist(record), link.deviceId);
  return record;
}

/** Stored pair record for a device, if it has a usable one. */
export async function readPairRecord(usbmux: UsbmuxClient, device: UsbmuxDevice, store?: PairRecordStore): Promise<PairRecord | undefined> {
  const d = await (store ?? usbmuxPairStore(usbmux)).read(device.udid);
  return d ? pairRecordFromPlist(d) : undefined;
}

/** A lockdown connection with a TLS session, pairing first when needed. */
export async function openLockdownSession(usbmux: UsbmuxClient, device: UsbmuxDevice, options: SessionOptions = {}): Promise<LockdownSession> {
  return openLockdownOverLink(usbmuxLink(usbmux, device, options.pairStore), options);
}

export async function openLockdownOverLink(link: DeviceLink, options: SessionOptions = {}): Promise<LockdownSession> {
  const lockdown = new LockdownClient(await link.connect(LOCKDOWN_PORT), options);
  try {
    const type = await lockdown.queryType();
    if (type !== 'com.apple.mobile.lockdown')
      throw new KeepsakeError('DEVICE_NOT_READY', `The iPhone is in "${type}" mode, not normal mode`, {
        hint: 'Restart the iPhone normally (not in recovery or restore mode) and try again.',
      });
    const stored = await link.pairStore.read(link.udid);
    let record = stored ? pairRecordFromPlist(stored) : undefined;
    if (!record) record = await pairOverLink(lockdown, link, options);
    try {
      await lockdown.startSession(record);
    } catch (err) {
      // The phone forgot us (pairing reset, "Reset Location & Privacy"): pair again once.
      if (!isKeepsakeError(err) || err.code !== 'DEVICE_NOT_PAIRED') throw err;
      record = await pairOverLink(lockdown, link, options);
      await lockdown.startSession(record);
    }
    return { lockdown, record };
  } catch (err) {
    await lockdown.close();
    throw err;
  }
}

/** An AFC connection to the media jail (`/var/mobile/Media`). */
export async function openAfc(usbmux: UsbmuxClient, device: UsbmuxDevice, options: SessionOptions = {}): Promise<AfcClient> {
  return openAfcOverLink(usbmuxLink(usbmux, device, options.pairStore), options);
}

export async function openAfcOverLink(link: DeviceLink, options: SessionOptions = {}): Promise<AfcClient> {
  const { lockdown, record } = await openLockdownOverLink(link, options);
  let service: StartedService;
  try {
    service = await lockdown.startService(AFC_SERVICE);
  } finally {
    await lockdown.close();
  }
  let stream = await link.connect(service.port);
  // EnableServiceSSL: TLS starts with the first byte on the service connection, same certificates.
  if (service.ssl) {
    try {
      stream = await startHostTls(stream, record, options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS, 'starting the encrypted AFC connection');
    } catch (err) {
      stream.destroy();
      throw err;
    }
  }
  return new AfcClient(stream, { timeoutMs: options.timeoutMs });
}
