import { silentLogger } from '@keepsake/core';
import { openAfc, UsbmuxClient, type UsbmuxDevice, createIphoneSource } from '@keepsake/transport-usb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimDevice } from './sim-device.js';
import { Simulator } from './simulator.js';

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('fault injection', () => {
  let sim: Simulator;
  let phone: SimDevice;
  let usbmux: UsbmuxClient;
  let device: UsbmuxDevice;

  beforeAll(async () => {
    sim = await Simulator.start({ devices: [{ cameraRoll: { assets: 12, seed: 5, largeVideoBytes: 2 * 1024 * 1024, largeVideoEvery: 6 } }] });
    phone = sim.devices[0] as SimDevice;
    usbmux = new UsbmuxClient({ env: sim.env() });
    [device] = (await usbmux.listDevices()) as [UsbmuxDevice];
  });
  afterAll(() => sim.stop());

  it('a slow link still delivers every byte, at the configured rate', async () => {
    const afc = await openAfc(usbmux, device);
    const f = [...phone.fs.files.values()].find((x) => x.content.size >= 2 * 1024 * 1024);
    phone.faults.bytesPerSecond = 8 * 1024 * 1024;
    const started = Date.now();
    const bytes = await readAll(afc.readFile(f?.path as string, { chunkSize: 256 * 1024 }));
    phone.faults.bytesPerSecond = undefined;
    expect(bytes.equals(f?.content.read(0, f.content.size) as Buffer)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    afc.close();
  });

  it('a link slower than the read timeout fails with TIMEOUT instead of hanging', async () => {
    const afc = await openAfc(usbmux, device, { timeoutMs: 300 });
    const f = [...phone.fs.files.values()].find((x) => x.content.size >= 2 * 1024 * 1024);
    phone.faults.bytesPerSecond = 100 * 1024;
    await expect(readAll(afc.readFile(f?.path as string, { chunkSize: 1024 * 1024 }))).rejects.toMatchObject({ code: 'TIMEOUT' });
    phone.faults.bytesPerSecond = undefined;
  });

  it('a corrupt image is still copied as it is, with a metadata warning on the asset', async () => {
    const heic = [...phone.fs.files.keys()].find((p) => p.endsWith('.HEIC') && !p.includes('IMG_E')) as string;
    phone.corruptFile(heic);
    const source = await createIphoneSource({ env: sim.env(), logger: silentLogger });
    let found = false;
    for await (const a of source.scan({ signal: new AbortController().signal, logger: silentLogger, reportTotals: () => undefined })) {
      const r = a.resources.find((x) => `/${x.key}` === heic);
      if (!r) continue;
      found = true;
      expect(a.diagnostics).toEqual(expect.arrayContaining([expect.objectContaining({ level: 'warning', source: 'iphone:metadata' })]));
      expect(a.capturedAt?.source).toBe('mtime');
      const f = phone.fs.files.get(heic);
      expect((await readAll(r.open())).equals(f?.content.read(0, f.content.size) as Buffer)).toBe(true);
    }
    expect(found).toBe(true);
    await source.close?.();
  });
});
