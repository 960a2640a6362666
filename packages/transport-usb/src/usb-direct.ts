/**
 * Direct USB transport (no usbmuxd): finds Apple devices with libusb through the optional `usb`
 * package, claims the usbmux interface (class 255, subclass 254, protocol 2) and runs a
 * UsbMuxSession over its two bulk endpoints. The resulting `connect(port)` streams are what the
 * lockdown and AFC clients need. Platform notes are in the README.
 *
 * `usb` is not a dependency (it is native): install it next to keepsake to use this mode.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { KeepsakeError } from '@keepsake/core';
import type { LinkProvider } from './afc-connection.js';
import { type DeviceLink, folderPairStore } from './device-session.js';
import { decodePlistDict, encodePlist } from './plist.js';
import { normalizeUdid } from './usbmux-protocol.js';
import { UsbMuxSession } from './usb-mux-session.js';

export const APPLE_VENDOR_ID = 0x05ac;
export const USBMUX_INTERFACE = { class: 0xff, subclass: 0xfe, protocol: 0x02 } as const;
const USB_MRU = 16384;

/** iPhone/iPad/iPod product ids usbmuxd handles (plus T2 and Apple Silicon restore). */
export function isAppleMobileProduct(productId: number): boolean {
  return (productId >= 0x1290 && productId <= 0x12af) || productId === 0x8600 || (productId >= 0x1901 && productId <= 0x1905);
}

// The parts of the `usb` package's API used here.
interface UsbEndpoint {
  direction: 'in' | 'out';
  transferType: number;
  descriptor: { wMaxPacketSize: number };
}
interface UsbInEndpoint extends UsbEndpoint {
  startPoll(transfers: number, size: number): void;
  stopPoll(cb?: () => void): void;
  on(event: 'data', cb: (d: Buffer) => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
}
interface UsbOutEndpoint extends UsbEndpoint {
  transfer(data: Buffer, cb: (err?: Error | null) => void): void;
}
interface UsbInterface {
  descriptor: { bInterfaceClass: number; bInterfaceSubClass: number; bInterfaceProtocol: number };
  endpoints: (UsbInEndpoint | UsbOutEndpoint)[];
  isKernelDriverActive(): boolean;
  detachKernelDriver(): void;
  claim(): void;
  release(closeEndpoints: boolean, cb: (err?: Error | null) => void): void;
}
interface UsbDevice {
  deviceDescriptor: { idVendor: number; idProduct: number; iSerialNumber: number };
  interfaces?: UsbInterface[];
  open(): void;
  close(): void;
  getStringDescriptor(index: number, cb: (err: Error | undefined, value?: string) => void): void;
}
export interface UsbModule {
  getDeviceList(): UsbDevice[];
}

// A variable specifier: bundlers and tsc must not try to resolve the optional native module.
const USB_PACKAGE = 'usb';

export async function loadUsb(): Promise<UsbModule> {
  try {
    const mod = (await import(USB_PACKAGE)) as UsbModule & { default?: UsbModule };
    return typeof mod.getDeviceList === 'function' ? mod : (mod.default as UsbModule);
  } catch (cause) {
    throw new KeepsakeError('NOT_SUPPORTED', 'Direct USB mode needs the "usb" package (libusb bindings), which is not installed', {
      cause,
      hint: 'Run: npm install usb  (next to keepsake). Or use usbmuxd: Apple Devices/iTunes on Windows, built into macOS, `apt install usbmuxd` on Linux.',
    });
  }
}

export interface DirectUsbDevice {
  udid: string;
  productId: number;
  /** Opens a byte stream to a TCP port on the device (62078 = lockdownd). */
  connect(port: number): Promise<Duplex>;
  close(): Promise<void>;
}

/** Apple mobile devices libusb can see (opening each briefly to read its serial = UDID). */
export async function listDirectUsbDevices(usb?: UsbModule): Promise<{ udid: string; productId: number; device: UsbDevice }[]> {
  const lib = usb ?? (await loadUsb());
  const out: { udid: string; productId: number; device: UsbDevice }[] = [];
  for (const device of lib.getDeviceList()) {
    const d = device.deviceDescriptor;
    if (d.idVendor !== APPLE_VENDOR_ID || !isAppleMobileProduct(d.idProduct)) continue;
    try {
      device.open();
      const serial = await new Promise<string>((resolve, reject) =>
        device.getStringDescriptor(d.iSerialNumber, (err, value) => (err ? reject(err) : resolve(value ?? ''))),
      );
      out.push({ udid: normalizeUdid(serial), productId: d.idProduct, device });
    } catch {
      // No permission (udev rules, WinUSB) or the device is busy: skip it; openDirectUsb explains.
    } finally {
      device.close();
    }
  }
  return out;
}

/** Claims the usbmux interface of one device and starts the mux protocol. */
export async function openDirectUsb(entry: { udid: string; productId: number; device: UsbDevice }, timeoutMs = 10_000): Promise<DirectUsbDevice> {
  const { device } = entry;
  try {
    device.open();
  } catch (cause) {
    throw new KeepsakeError('DEVICE_USB_ACCESS_DENIED', `Cannot open the iPhone over USB: ${(cause as Error).message}`, {
      cause,
      hint:
        process.platform === 'win32'
          ? 'Windows needs a WinUSB driver on the iPhone\'s "Apple Mobile Device USB" interface (e.g. with Zadig) when Apple\'s driver is not installed — or install Apple Devices and use usbmuxd mode.'
          : process.platform === 'linux'
            ? 'Add a udev rule giving your user access to Apple devices (SUBSYSTEM=="usb", ATTR{idVendor}=="05ac", MODE="0660", GROUP="plugdev"), and stop usbmuxd, which holds the interface.'
            : 'On macOS the system usbmuxd owns the interface; use the default usbmuxd mode.',
    });
  }
  const iface = (device.interfaces ?? []).find(
    (i) =>
      i.descriptor.bInterfaceClass === USBMUX_INTERFACE.class &&
      i.descriptor.bInterfaceSubClass === USBMUX_INTERFACE.subclass &&
      i.descriptor.bInterfaceProtocol === USBMUX_INTERFACE.protocol,
  );
  if (!iface) {
    device.close();
    throw new KeepsakeError('DEVICE_NOT_READY', 'The iPhone exposes no usbmux interface in its current USB configuration', {
      hint: 'Unlock the iPhone and replug it; usbmuxd can switch configurations where keepsake\'s direct mode does not.',
    });
  }
  if (iface.isKernelDriverActive()) iface.detachKernelDriver();
  iface.claim();
  const bulk = 2;
  const inEp = iface.endpoints.find((e) => e.direction === 'in' && e.transferType === bulk) as UsbInEndpoint | undefined;
  const outEp = iface.endpoints.find((e) => e.direction === 'out' && e.transferType === bulk) as UsbOutEndpoint | undefined;
  if (!inEp || !outEp) throw new KeepsakeError('DEVICE_NOT_READY', 'The usbmux interface lacks its bulk endpoints');
  const maxPacket = outEp.descriptor.wMaxPacketSize;
  const transfer = (data: Buffer) => new Promise<void>((resolve, reject) => outEp.transfer(data, (err) => (err ? reject(err) : resolve())));
  const session = new UsbMuxSession({
    timeoutMs,
    async send(packet) {
      await transfer(packet);
      // A transfer that is a multiple of the max packet size needs a zero-length packet to end it.
      if (maxPacket > 0 && packet.length % maxPacket === 0) await transfer(Buffer.alloc(0));
    },
  });
  inEp.on('data', (d) => session.receive(d));
  inEp.on('error', (e) => session.fail(e));
  inEp.startPoll(3, USB_MRU);
  await session.start();
  return {
    udid: entry.udid,
    productId: entry.productId,
    connect: (port) => session.connect(port),
    async close() {
      session.fail(new Error('closed'));
      await new Promise<void>((r) => inEp.stopPoll(() => r()));
      await new Promise<void>((r) => iface.release(true, () => r()));
      device.close();
    },
  };
}

/** keepsake's own SystemBUID for direct mode (usbmuxd keeps one in SystemConfiguration.plist; so do we). */
async function ownSystemBuid(dir: string): Promise<string> {
  const file = join(dir, 'SystemConfiguration.plist');
  try {
    const buid = decodePlistDict(await readFile(file)).SystemBUID;
    if (typeof buid === 'string') return buid;
  } catch {
    // Not created yet.
  }
  const buid = randomUUID().toUpperCase();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, encodePlist({ SystemBUID: buid }), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return buid;
}

export interface DirectLinkOptions {
  udid?: string;
  /** Where pair records and the SystemBUID are kept (the plugin's storage folder). */
  storageDir: string;
  timeoutMs?: number;
  /** The `usb` module (tests pass a stand-in); loaded on demand otherwise. */
  usb?: UsbModule;
}

/** Links to one phone straight over USB, reopening the device after a failure (cable pulled). */
export async function directLinkProvider(options: DirectLinkOptions): Promise<LinkProvider> {
  const usb = options.usb ?? (await loadUsb());
  const lockdownDir = join(options.storageDir, 'lockdown');
  const pairStore = folderPairStore(lockdownDir);
  const find = async () => {
    const all = await listDirectUsbDevices(usb);
    if (options.udid) {
      const want = options.udid.toLowerCase().replace('-', '');
      return { all, match: all.find((d) => d.udid.toLowerCase().replace('-', '') === want) };
    }
    return { all, match: all.length === 1 ? all[0] : undefined };
  };
  const { all, match } = await find();
  if (!match) {
    if (!options.udid && all.length > 1)
      throw new KeepsakeError('DEVICE_AMBIGUOUS', `${all.length} iPhones are connected over USB and the source does not say which one to read`, {
        hint: `Set the source option "udid". Connected: ${all.map((d) => d.udid).join(', ')}.`,
      });
    throw new KeepsakeError('DEVICE_NOT_FOUND', options.udid ? `No iPhone with UDID ${options.udid} is reachable over USB` : 'No iPhone is reachable over USB', {
      hint: 'Connect it with a cable and unlock it. If it is connected, keepsake may lack permission to open it: see the transport-usb README (udev rule on Linux, WinUSB on Windows).',
    });
  }
  const udid = match.udid;
  let device = await openDirectUsb(match, options.timeoutMs);
  const linkFor = (d: DirectUsbDevice): DeviceLink => ({
    udid,
    connect: (port) => d.connect(port),
    readBuid: () => ownSystemBuid(lockdownDir),
    pairStore,
  });
  let link = linkFor(device);
  return {
    udid,
    current: () => link,
    async refresh() {
      await device.close().catch(() => undefined);
      const again = (await listDirectUsbDevices(usb)).find((d) => d.udid === udid);
      if (!again) return undefined;
      device = await openDirectUsb(again, options.timeoutMs);
      link = linkFor(device);
      return { link, changed: true };
    },
    close: () => device.close(),
  };
}
