import { AfcClient, AFC_SERVICE, createPairRecord, LockdownClient, UsbMuxSession } from '@keepsake/transport-usb';
import { describe, expect, it } from 'vitest';
import { SimDevice } from './sim-device.js';
import { SimUsbMux } from './usb-mux-device.js';

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('direct USB mux session against the simulated device', () => {
  it('runs lockdown (pairing, TLS session, StartService) and AFC over mux connections', async () => {
    const phone = new SimDevice({ name: 'USB Phone', cameraRoll: { assets: 5, seed: 4 } });
    let session!: UsbMuxSession;
    const device = new SimUsbMux(phone, (packet) => session.receive(packet));
    session = new UsbMuxSession({ send: async (packet) => device.receive(packet), timeoutMs: 5000 });
    await session.start();
    expect(session.protocolVersion).toBe(2);

    const lockdown = new LockdownClient(await session.connect(62078));
    expect(await lockdown.queryType()).toBe('com.apple.mobile.lockdown');
    expect(await lockdown.getValue('DeviceName')).toBe('USB Phone');
    const key = new TextDecoder().decode((await lockdown.getValue('DevicePublicKey')) as Uint8Array);
    const record = createPairRecord(key, 'SIM-BUID');
    await lockdown.pair(record);
    await lockdown.startSession(record);
    expect(await lockdown.getValue('UniqueDeviceID')).toBe(phone.udid);
    const { port } = await lockdown.startService(AFC_SERVICE);
    await lockdown.close();

    const afc = new AfcClient(await session.connect(port));
    const folder = (await afc.readDir('/DCIM')).find((n) => n.endsWith('APPLE'));
    const name = (await afc.readDir(`/DCIM/${folder}`))[0];
    const path = `/DCIM/${folder}/${name}`;
    const f = phone.fs.files.get(path);
    expect(await readAll(afc.readFile(path, { chunkSize: 100_000 }))).toEqual(f?.content.read(0, f.content.size));
    afc.close();
    await expect(session.connect(4242)).rejects.toMatchObject({ code: 'DEVICE_CONNECTION_REFUSED' });
  });
});
