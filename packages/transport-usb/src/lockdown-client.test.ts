import { generateKeyPairSync } from 'node:crypto';
import { duplexPair } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LockdownClient } from './lockdown-client.js';
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

describe('LockdownClient against constructed replies', () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const record = createPairRecord(key.publicKey, 'BUID-1');

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
