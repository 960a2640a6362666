/**
 * Pair records: the root/host/device certificates and keys that make an iPhone trust this computer.
 *
 * Keys come from node:crypto (native RSA generation); certificates are built with node-forge,
 * a maintained X.509 library, in the shape libimobiledevice and pymobiledevice3 make: v3, empty
 * subject/issuer, 10 years, root CA:TRUE, host/device CA:FALSE + digitalSignature|keyEncipherment.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { KeepsakeError } from '@keepsake/core';
import forge from 'node-forge';
import type { PlistDict } from './plist.js';

export interface PairRecord {
  DeviceCertificate: Uint8Array;
  HostCertificate: Uint8Array;
  HostPrivateKey: Uint8Array;
  RootCertificate: Uint8Array;
  RootPrivateKey: Uint8Array;
  HostID: string;
  SystemBUID: string;
  EscrowBag?: Uint8Array;
  WiFiMACAddress?: string;
}

const TEN_YEARS_MS = 10 * 365.25 * 24 * 3600 * 1000;

function rsaKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicExponent: 65537,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

function makeCert(
  subjectKey: forge.pki.PublicKey,
  signer: forge.pki.PrivateKey,
  kind: 'root' | 'host' | 'device',
  serial: string,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = subjectKey;
  cert.serialNumber = serial;
  const now = Date.now();
  cert.validity.notBefore = new Date(now);
  cert.validity.notAfter = new Date(now + TEN_YEARS_MS);
  cert.setSubject([]);
  cert.setIssuer([]);
  const extensions: object[] = [{ name: 'basicConstraints', cA: kind === 'root', critical: true }];
  if (kind !== 'root') extensions.push({ name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true });
  if (kind === 'device') extensions.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(extensions);
  cert.sign(signer as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return cert;
}

const pemBytes = (pem: string): Uint8Array => new TextEncoder().encode(pem);

/** A fresh pair record for a device whose `DevicePublicKey` (PKCS#1 or SPKI PEM) is given. */
export function createPairRecord(devicePublicKeyPem: string, systemBuid: string, hostId: string = randomUUID().toUpperCase()): PairRecord {
  let deviceKey: forge.pki.PublicKey;
  try {
    deviceKey = forge.pki.publicKeyFromPem(devicePublicKeyPem);
  } catch (cause) {
    throw new KeepsakeError('DEVICE_PROTOCOL_ERROR', 'The iPhone sent a DevicePublicKey keepsake cannot read', {
      cause,
      hint: 'Reconnect the iPhone and try again.',
    });
  }
  const root = rsaKeyPair();
  const host = rsaKeyPair();
  const rootKey = forge.pki.privateKeyFromPem(root.privatePem);
  const rootCert = makeCert(forge.pki.publicKeyFromPem(root.publicPem), rootKey, 'root', '00');
  const hostCert = makeCert(forge.pki.publicKeyFromPem(host.publicPem), rootKey, 'host', '00');
  const deviceCert = makeCert(deviceKey, rootKey, 'device', '00');
  return {
    DeviceCertificate: pemBytes(forge.pki.certificateToPem(deviceCert)),
    HostCertificate: pemBytes(forge.pki.certificateToPem(hostCert)),
    HostPrivateKey: pemBytes(host.privatePem),
    RootCertificate: pemBytes(forge.pki.certificateToPem(rootCert)),
    RootPrivateKey: pemBytes(root.privatePem),
    HostID: hostId,
    SystemBUID: systemBuid,
  };
}

/** The part of a pair record sent to the device (never the private keys). */
export function publicPairRecord(r: PairRecord): PlistDict {
  const out: PlistDict = {
    DeviceCertificate: r.DeviceCertificate,
    HostCertificate: r.HostCertificate,
    RootCertificate: r.RootCertificate,
    HostID: r.HostID,
    SystemBUID: r.SystemBUID,
  };
  if (r.WiFiMACAddress) out.WiFiMACAddress = r.WiFiMACAddress;
  return out;
}

export function pairRecordToPlist(r: PairRecord): PlistDict {
  const out: PlistDict = { ...r } as unknown as PlistDict;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** Checks a stored pair-record plist has what a session needs. */
export function pairRecordFromPlist(d: PlistDict): PairRecord | undefined {
  const bytes = (k: string) => (d[k] instanceof Uint8Array ? (d[k] as Uint8Array) : undefined);
  const str = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  const HostID = str('HostID');
  const SystemBUID = str('SystemBUID');
  const HostCertificate = bytes('HostCertificate');
  const HostPrivateKey = bytes('HostPrivateKey');
  const RootCertificate = bytes('RootCertificate');
  const RootPrivateKey = bytes('RootPrivateKey');
  const DeviceCertificate = bytes('DeviceCertificate');
  if (!HostID || !SystemBUID || !HostCertificate || !HostPrivateKey || !RootCertificate || !RootPrivateKey || !DeviceCertificate) return undefined;
  const r: PairRecord = { HostID, SystemBUID, HostCertificate, HostPrivateKey, RootCertificate, RootPrivateKey, DeviceCertificate };
  const escrow = bytes('EscrowBag');
  if (escrow) r.EscrowBag = escrow;
  const wifi = str('WiFiMACAddress');
  if (wifi) r.WiFiMACAddress = wifi;
  return r;
}

/** 36 characters from `ABCDEF0123456789` with dashes, as usbmuxd makes SystemBUIDs. */
export function newSystemBuid(): string {
  return randomUUID().toUpperCase();
}
