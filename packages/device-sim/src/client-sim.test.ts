import { createHash } from 'node:crypto';
import { LockdownClient, type PairRecord, pairRecordFromPlist, type PlistDict, openAfc, openLockdownSession, UsbmuxClient, type UsbmuxDevice, type UsbmuxEvent } from '@keepsake/transport-usb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimFile } from './camera-roll.js';
import { SimDevice } from './sim-device.js';
import { Simulator } from './simulator.js';

const sha = (chunks: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe('keepsake clients against the simulator', () => {
  let sim: Simulator;
  let phone: SimDevice;
  let usbmux: UsbmuxClient;
  let device: UsbmuxDevice;

  beforeAll(async () => {
    sim = await Simulator.start({ tcpPort: 0, devices: [{ name: 'Ada’s iPhone', cameraRoll: { assets: 30, seed: 7, largeVideoBytes: 3 * 1024 * 1024, largeVideoEvery: 10 } }] });
    phone = sim.devices[0] as SimDevice;
    usbmux = new UsbmuxClient({ env: { USBMUXD_SOCKET_ADDRESS: sim.address }, timeoutMs: 5000 });
    [device] = (await usbmux.listDevices()) as [UsbmuxDevice];
  });
  afterAll(() => sim.stop());

  it('lists the device over TCP with its UDID', () => {
    expect(device).toMatchObject({ udid: phone.udid, connectionType: 'USB', productId: 0x12a8 });
  });

  it('reads identity values without pairing', async () => {
    const ld = await LockdownClient.connect(usbmux, device);
    expect(await ld.queryType()).toBe('com.apple.mobile.lockdown');
    expect(await ld.getValue('DeviceName')).toBe('Ada’s iPhone');
    expect(await ld.getValue('ProductVersion')).toBe('17.5.1');
    await expect(ld.getValue('NoSuchKey')).rejects.toMatchObject({ code: 'DEVICE_LOCKDOWN_ERROR', pluginCode: 'MissingValue' });
    await ld.close();
  });

  it('pairs after the trust prompt, saves the record in usbmuxd and starts a TLS session', async () => {
    phone.setTrust({ pending: 2 });
    const progress: string[] = [];
    const { lockdown, record } = await openLockdownSession(usbmux, device, { trust: { intervalMs: 10, onProgress: (m) => progress.push(m) } });
    expect(progress).toEqual([expect.stringMatching(/Trust This Computer.*tap Trust/)]);
    expect(lockdown.inSession).toBe(true);
    expect(await lockdown.getValue('UniqueDeviceID')).toBe(phone.udid);
    expect(phone.isPairedWith(record.HostID)).toBe(true);
    expect(sim.pairRecord(phone.udid)?.HostID).toBe(record.HostID);
    expect((await usbmux.readPairRecord(phone.udid))?.EscrowBag).toBeInstanceOf(Uint8Array);
    await lockdown.close();
  });

  it('ValidatePair accepts the saved record and rejects an unknown host', async () => {
    const ld = await LockdownClient.connect(usbmux, device);
    const record = pairRecordFromPlist((await usbmux.readPairRecord(phone.udid)) as PlistDict) as PairRecord;
    await ld.validatePair(record);
    await expect(ld.validatePair({ ...record, HostID: 'NOT-A-KNOWN-HOST' })).rejects.toMatchObject({ code: 'DEVICE_NOT_PAIRED', pluginCode: 'InvalidHostID' });
    await expect(ld.startSession({ ...record, HostID: 'NOT-A-KNOWN-HOST' })).rejects.toMatchObject({ code: 'DEVICE_NOT_PAIRED' });
    await ld.close();
  });

  it('reuses the saved pair record on the next session (no prompt)', async () => {
    phone.setTrust('deny');
    const { lockdown } = await openLockdownSession(usbmux, device);
    expect(lockdown.inSession).toBe(true);
    await lockdown.close();
    phone.setTrust('accept');
  });

  it('pairs again when the phone forgot this computer', async () => {
    phone.resetPairings();
    const before = (await usbmux.readPairRecord(phone.udid))?.HostID;
    const { lockdown, record } = await openLockdownSession(usbmux, device);
    expect(record.HostID).not.toBe(before);
    await lockdown.close();
  });

  it('serves the camera roll over AFC byte-for-byte, with seek and streaming', async () => {
    const afc = await openAfc(usbmux, device);
    const folders = await afc.readDir('/DCIM');
    expect(folders).toContain('100APPLE');
    const names = await afc.readDir('/DCIM/100APPLE');
    expect(names.length).toBeGreaterThan(10);
    const movPath = [...phone.fs.files.values()].find((f) => f.content.size >= 3 * 1024 * 1024)?.path as string;
    const info = await afc.getFileInfo(movPath);
    const f = phone.fs.files.get(movPath);
    expect(info).toMatchObject({ size: f?.content.size, type: 'file', mtimeMs: f?.mtimeMs });
    const chunks = await collect(afc.readFile(movPath, { chunkSize: 256 * 1024, expectedSize: info.size }));
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(256 * 1024);
    expect(sha(chunks)).toBe(sha([f?.content.read(0, info.size) as Buffer]));
    const tail = await collect(afc.readFile(movPath, { offset: info.size - 1000 }));
    expect(Buffer.concat(tail)).toEqual(f?.content.read(info.size - 1000, 1000));
    expect((await afc.getDeviceInfo()).Model).toBe('iPhone14,2');
    await expect(afc.getFileInfo('/DCIM/nope.JPG')).rejects.toMatchObject({ code: 'SOURCE_ITEM_VANISHED' });
    await expect(collect(afc.readFile('/PhotoData/Photos.sqlite'))).rejects.toMatchObject({ code: 'DEVICE_PERMISSION_DENIED' });
    expect(afc.usable).toBe(true);
    afc.close();
  });

  it('speaks TLS on the AFC connection when StartService answers EnableServiceSSL', async () => {
    phone.serviceSsl = true;
    try {
      const afc = await openAfc(usbmux, device);
      expect(await afc.readDir('/DCIM')).toContain('100APPLE');
      const f = [...phone.fs.files.values()].find((x) => x.path.endsWith('.HEIC')) as SimFile;
      const chunks = await collect(afc.readFile(f.path, { expectedSize: f.content.size }));
      expect(sha(chunks)).toBe(sha([f.content.read(0, f.content.size)]));
      afc.close();
    } finally {
      phone.serviceSsl = false;
    }
  });

  it('removes a file over AFC (remove_path) and then reports it vanished', async () => {
    const afc = await openAfc(usbmux, device);
    const path = '/DCIM/.MISC/Incoming/keepsake-test.tmp';
    phone.fs.files.set(path, { path, content: { size: 3, read: () => Buffer.from('abc') }, mtimeMs: 0, birthtimeMs: 0 });
    phone.fs.dirs.get('/DCIM/.MISC/Incoming')?.push('keepsake-test.tmp');
    expect(await afc.readDir('/DCIM/.MISC/Incoming')).toContain('keepsake-test.tmp');
    await afc.removePath(path);
    await expect(afc.getFileInfo(path)).rejects.toMatchObject({ code: 'SOURCE_ITEM_VANISHED' });
    await expect(afc.removePath(path)).rejects.toMatchObject({ code: 'SOURCE_ITEM_VANISHED' });
    expect(await afc.readDir('/DCIM/.MISC/Incoming')).not.toContain('keepsake-test.tmp');
    afc.close();
  });

  it('reports a file shorter than its size as SOURCE_ITEM_TRUNCATED', async () => {
    const path = [...phone.fs.files.keys()].find((p) => p.endsWith('.HEIC')) as string;
    phone.shortenFile(path, 500);
    const afc = await openAfc(usbmux, device);
    const info = await afc.getFileInfo(path);
    await expect(collect(afc.readFile(path, { expectedSize: info.size }))).rejects.toMatchObject({ code: 'SOURCE_ITEM_TRUNCATED' });
    afc.close();
    delete phone.fs.files.get(path)?.reportedSize;
  });

  it('a disconnect mid-file is DEVICE_DISCONNECTED, quickly, never a hang', async () => {
    const afc = await openAfc(usbmux, device, { timeoutMs: 60_000 });
    const path = [...phone.fs.files.values()].find((f) => f.content.size >= 3 * 1024 * 1024)?.path as string;
    phone.faults.disconnectAfterBytes = 1_500_000;
    const started = Date.now();
    await expect(collect(afc.readFile(path))).rejects.toMatchObject({ code: 'DEVICE_DISCONNECTED' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(afc.usable).toBe(false);
  });

  it('refuses Connect to an unknown device or a closed port', async () => {
    await expect(usbmux.connect(999, 62078)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(usbmux.connect(device.deviceId, 1234)).rejects.toMatchObject({ code: 'DEVICE_CONNECTION_REFUSED' });
  });

  it('streams attach and detach events', async () => {
    const ac = new AbortController();
    const events: UsbmuxEvent[] = [];
    const second = new SimDevice({ name: 'Second', cameraRoll: { assets: 2 } });
    const done = (async () => {
      for await (const e of usbmux.listen(ac.signal)) {
        events.push(e);
        if (events.length === 1) sim.attach(second);
        if (events.length === 2) sim.detach(second);
        if (events.length === 3) ac.abort();
      }
    })();
    await done;
    expect(events.map((e) => e.type)).toEqual(['attached', 'attached', 'detached']);
    expect(events[1]).toMatchObject({ device: { udid: second.udid } });
  });
});

describe('trust prompt outcomes', () => {
  it('maps a denial, a locked phone and an unanswered prompt to typed errors', async () => {
    const sim = await Simulator.start({ devices: [{ trust: 'deny', cameraRoll: { assets: 1 } }] });
    try {
      const usbmux = new UsbmuxClient({ env: { USBMUXD_SOCKET_ADDRESS: sim.address } });
      const [device] = (await usbmux.listDevices()) as [UsbmuxDevice];
      const phone = sim.devices[0] as SimDevice;
      await expect(openLockdownSession(usbmux, device)).rejects.toMatchObject({ code: 'DEVICE_TRUST_DENIED', hint: expect.stringMatching(/tap Trust/) });
      phone.setTrust('accept');
      phone.locked = true;
      await expect(openLockdownSession(usbmux, device, { trust: { timeoutMs: 50, intervalMs: 10 } })).rejects.toMatchObject({
        code: 'DEVICE_LOCKED',
        hint: expect.stringMatching(/Unlock your iPhone/),
      });
      phone.locked = false;
      phone.setTrust({ pending: 1000 });
      await expect(openLockdownSession(usbmux, device, { trust: { timeoutMs: 50, intervalMs: 10 } })).rejects.toMatchObject({ code: 'DEVICE_TRUST_PENDING' });
      expect(sim.pairRecord(phone.udid)).toBeUndefined();
    } finally {
      await sim.stop();
    }
  });

  it('explains a missing usbmuxd', async () => {
    const usbmux = new UsbmuxClient({ env: { USBMUXD_SOCKET_ADDRESS: 'UNIX:/nonexistent/usbmuxd' } });
    await expect(usbmux.listDevices()).rejects.toMatchObject({ code: 'USBMUXD_UNAVAILABLE', hint: expect.any(String) });
  });
});
