/**
 * The `iphone` source with transport "usb" — the libusb glue in transport-usb's usb-direct.ts
 * (device discovery, interface claim, bulk endpoints, zero-length packets) — against a stand-in for
 * the `usb` package whose bulk endpoints are wired to the simulator's device-side mux.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Asset, silentLogger } from '@keepsake/core';
import { createIphoneSource, listDirectUsbDevices, openDirectUsb, type UsbModule } from '@keepsake/transport-usb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice } from './sim-device.js';
import { SimUsbMux } from './usb-mux-device.js';

const MAX_PACKET = 512;

/** A stand-in `usb` module: one non-Apple device and the simulated iPhone on a usbmux interface. */
function fakeUsb(phone: SimDevice) {
  const stats = { transfers: 0, zeroLength: 0, claimed: false, closed: 0, sizes: [] as number[] };
  const listeners: ((d: Buffer) => void)[] = [];
  let mux = new SimUsbMux(phone, (packet) => {
    for (const l of listeners) l(packet);
  });
  const inEp = {
    direction: 'in' as const,
    transferType: 2,
    descriptor: { wMaxPacketSize: MAX_PACKET },
    startPoll() {},
    stopPoll: (cb?: () => void) => cb?.(),
    on(event: string, cb: (d: Buffer) => void) {
      if (event === 'data') listeners.push(cb);
    },
  };
  const outEp = {
    direction: 'out' as const,
    transferType: 2,
    descriptor: { wMaxPacketSize: MAX_PACKET },
    transfer(data: Buffer, cb: (err?: Error | null) => void) {
      stats.transfers++;
      stats.sizes.push(data.length);
      if (data.length === 0) stats.zeroLength++;
      else mux.receive(data);
      setImmediate(() => cb());
    },
  };
  const iface = {
    descriptor: { bInterfaceClass: 255, bInterfaceSubClass: 254, bInterfaceProtocol: 2 },
    endpoints: [inEp, outEp],
    isKernelDriverActive: () => false,
    detachKernelDriver() {},
    claim() {
      stats.claimed = true;
    },
    release: (_close: boolean, cb: () => void) => cb(),
  };
  const apple = {
    deviceDescriptor: { idVendor: 0x05ac, idProduct: 0x12a8, iSerialNumber: 3 },
    interfaces: [iface],
    open() {},
    close() {
      stats.closed++;
    },
    // USB serials have no dash: 24 characters that keepsake turns into the UDID.
    getStringDescriptor: (_i: number, cb: (e: Error | undefined, v?: string) => void) => cb(undefined, phone.udid.replace('-', '')),
  };
  const keyboard = { ...apple, deviceDescriptor: { idVendor: 0x046d, idProduct: 0xc31c, iSerialNumber: 0 }, interfaces: [] };
  const usb = { getDeviceList: () => [keyboard, apple] } as unknown as UsbModule;
  const replug = () => {
    listeners.length = 0;
    mux = new SimUsbMux(phone, (packet) => {
      for (const l of listeners) l(packet);
    });
  };
  return { usb, stats, replug };
}

async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('iphone source over direct USB (stand-in libusb)', () => {
  let storageDir: string;
  const phone = new SimDevice({ name: 'Direct Phone', trust: { pending: 1 }, cameraRoll: { assets: 8, seed: 9 } });

  beforeAll(async () => {
    storageDir = await mkdtemp(join(tmpdir(), 'keepsake-direct-'));
  });
  afterAll(() => rm(storageDir, { recursive: true, force: true }));

  it('pairs (keeping the record in its own store), scans and copies byte-identical', async () => {
    const { usb, stats } = fakeUsb(phone);
    const progress: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => progress.push(m), child: () => logger };
    const source = await createIphoneSource({ transport: 'usb', usbModule: usb, storageDir, logger });
    expect(source.key).toBe(`iphone:${phone.udid}`);
    expect(stats.claimed).toBe(true);
    expect(progress.some((m) => /tap Trust/.test(m))).toBe(true);
    const record = (await readFile(join(storageDir, 'lockdown', `${phone.udid}.plist`))).toString();
    expect(record).toContain('<key>HostPrivateKey</key>');
    expect(record).toContain('<key>EscrowBag</key>');
    const assets: Asset[] = [];
    for await (const a of source.scan({ signal: new AbortController().signal, logger: silentLogger, reportTotals: () => undefined })) assets.push(a);
    expect(assets).toHaveLength(8);
    for (const r of assets.flatMap((a) => a.resources)) {
      const f = phone.fs.files.get(`/${r.key}`);
      expect((await readAll(r.open())).equals(f?.content.read(0, f.content.size) as Buffer)).toBe(true);
    }
    await source.close?.();
  });

  it('reuses its pair record next time (no prompt), and ends full-size transfers with a zero-length packet', async () => {
    phone.setTrust('deny');
    const { usb, stats, replug } = fakeUsb(phone);
    const source = await createIphoneSource({ transport: 'usb', usbModule: usb, storageDir, logger: silentLogger });
    await source.close?.();
    phone.setTrust('accept');

    replug();
    const direct = await openDirectUsb((await listDirectUsbDevices(usb))[0] as Parameters<typeof openDirectUsb>[0]);
    const stream = await direct.connect(62078);
    stream.on('error', () => undefined);
    const before = stats.sizes.length;
    // 16-byte mux header + 20-byte TCP header + 988 bytes = 1024, a multiple of the 512-byte max packet.
    await new Promise<void>((r) => stream.write(Buffer.alloc(988), () => r()));
    const sent = stats.sizes.slice(before);
    expect(sent.slice(0, 2)).toEqual([1024, 0]);
    for (const [i, n] of stats.sizes.entries()) if (n > 0 && n % MAX_PACKET === 0) expect(stats.sizes[i + 1]).toBe(0);
    expect(stats.sizes.filter((n, i) => n === 0 && !((stats.sizes[i - 1] ?? 1) % MAX_PACKET === 0))).toEqual([]);
    await direct.close();
  });

  it('explains when no iPhone is reachable and when the option combination is invalid', async () => {
    const empty = { getDeviceList: () => [] } as unknown as UsbModule;
    await expect(createIphoneSource({ transport: 'usb', usbModule: empty, storageDir, logger: silentLogger })).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
      hint: expect.stringMatching(/udev|WinUSB/),
    });
    await expect(createIphoneSource({ transport: 'usb', name: 'x', storageDir, logger: silentLogger })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
  });
});
