import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPairRecord, pairRecordFromPlist, pairRecordToPlist, publicPairRecord } from './pairing.js';
import { decodePlistDict, encodePlist } from './plist.js';

describe('pair records', () => {
  const device = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const record = createPairRecord(device.publicKey, 'BUID-1');

  it('makes a self-signed CA root and host/device certificates signed by it', () => {
    const root = new X509Certificate(Buffer.from(record.RootCertificate));
    const host = new X509Certificate(Buffer.from(record.HostCertificate));
    const dev = new X509Certificate(Buffer.from(record.DeviceCertificate));
    expect(root.ca).toBe(true);
    expect(host.ca).toBe(false);
    expect(dev.ca).toBe(false);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(host.verify(root.publicKey)).toBe(true);
    expect(dev.verify(root.publicKey)).toBe(true);
    expect(dev.publicKey.export({ type: 'pkcs1', format: 'pem' })).toBe(device.publicKey);
    expect(new Date(root.validTo).getTime() - Date.now()).toBeGreaterThan(9 * 365 * 24 * 3600 * 1000);
  });

  it('keeps private keys out of what is sent to the device', () => {
    const sent = publicPairRecord(record);
    expect(Object.keys(sent).sort()).toEqual(['DeviceCertificate', 'HostCertificate', 'HostID', 'RootCertificate', 'SystemBUID']);
    expect(record.HostID).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('survives a round trip through a stored plist', () => {
    const back = pairRecordFromPlist(decodePlistDict(encodePlist(pairRecordToPlist(record))));
    expect(back).toEqual(record);
    expect(pairRecordFromPlist({ HostID: 'x' })).toBeUndefined();
  });

  it('rejects an unreadable device key with a typed error', () => {
    expect(() => createPairRecord('not a key', 'b')).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
  });
});
