/** Picks the iPhone to use: by UDID, by name, or the only one connected. */
import { KeepsakeError } from '@keepsake/core';
import { LockdownClient } from './lockdown-client.js';
import type { UsbmuxClient, UsbmuxDevice } from './usbmux-client.js';

export interface DeviceSelector {
  udid?: string;
  name?: string;
}

/** Devices reachable over USB, one entry per UDID (usbmuxd may also list the same phone over Wi-Fi). */
export async function listUsbDevices(usbmux: UsbmuxClient): Promise<UsbmuxDevice[]> {
  const seen = new Map<string, UsbmuxDevice>();
  for (const d of await usbmux.listDevices()) {
    if (d.connectionType !== 'USB') continue;
    if (!seen.has(d.udid)) seen.set(d.udid, d);
  }
  return [...seen.values()];
}

/** The device's name as set on the phone (readable without pairing). */
export async function readDeviceName(usbmux: UsbmuxClient, device: UsbmuxDevice, timeoutMs?: number): Promise<string | undefined> {
  const ld = await LockdownClient.connect(usbmux, device, { timeoutMs });
  try {
    return await ld.getString('DeviceName');
  } finally {
    await ld.close();
  }
}

export async function selectDevice(usbmux: UsbmuxClient, selector: DeviceSelector, timeoutMs?: number): Promise<UsbmuxDevice> {
  const devices = await listUsbDevices(usbmux);
  if (selector.udid) {
    const want = selector.udid.toLowerCase();
    const d = devices.find((x) => x.udid.toLowerCase() === want || x.udid.replace('-', '').toLowerCase() === want.replace('-', ''));
    if (!d)
      throw new KeepsakeError('DEVICE_NOT_FOUND', `No iPhone with UDID ${selector.udid} is connected`, {
        hint: devices.length > 0 ? `Connected: ${devices.map((x) => x.udid).join(', ')}. Run "keepsake devices" to see them.` : 'Connect it with a USB cable and unlock it.',
      });
    return d;
  }
  if (selector.name) {
    const names: string[] = [];
    for (const d of devices) {
      const name = await readDeviceName(usbmux, d, timeoutMs).catch(() => undefined);
      if (name === selector.name) return d;
      if (name) names.push(name);
    }
    throw new KeepsakeError('DEVICE_NOT_FOUND', `No iPhone named "${selector.name}" is connected`, {
      hint: names.length > 0 ? `Connected: ${names.map((n) => `"${n}"`).join(', ')}.` : 'Connect it with a USB cable and unlock it.',
    });
  }
  if (devices.length === 0)
    throw new KeepsakeError('DEVICE_NOT_FOUND', 'No iPhone is connected', {
      hint: 'Connect your iPhone with a USB cable, unlock it, and tap Trust if it asks.',
    });
  if (devices.length > 1)
    throw new KeepsakeError('DEVICE_AMBIGUOUS', `${devices.length} iPhones are connected and the source does not say which one to read`, {
      hint: `Set the source option "udid" (or "name"). Connected: ${devices.map((d) => d.udid).join(', ')}; run "keepsake devices" for names.`,
    });
  return devices[0] as UsbmuxDevice;
}
