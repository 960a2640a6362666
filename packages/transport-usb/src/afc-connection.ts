/**
 * One AFC connection to one phone, re-established after a failure: a pulled cable kills the
 * current connection, and the next item (or a retry) reconnects when the phone is back — looked
 * up again by UDID, since usbmuxd gives a re-plugged phone a new device id.
 */
import { KeepsakeError } from '@keepsake/core';
import type { AfcClient } from './afc-client.js';
import { openAfc, type SessionOptions } from './device-session.js';
import { listUsbDevices } from './device-select.js';
import type { UsbmuxClient, UsbmuxDevice } from './usbmux-client.js';

export class AfcConnection {
  private current: AfcClient | undefined;
  private pending: Promise<AfcClient> | undefined;
  private closed = false;

  constructor(
    private readonly usbmux: UsbmuxClient,
    private device: UsbmuxDevice,
    private readonly options: SessionOptions,
  ) {}

  get udid(): string {
    return this.device.udid;
  }

  async get(): Promise<AfcClient> {
    if (this.closed) throw new KeepsakeError('ABORTED', 'The iPhone source was closed', { classification: 'fatal' });
    if (this.current?.usable) return this.current;
    this.current = undefined;
    this.pending ??= this.connect().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = undefined;
  }

  private async connect(): Promise<AfcClient> {
    let device = this.device;
    try {
      this.current = await openAfc(this.usbmux, device, this.options);
      return this.current;
    } catch (err) {
      // Re-plugged phones get a new usbmuxd id: find it again by UDID before giving up.
      const again = (await listUsbDevices(this.usbmux)).find((d) => d.udid === this.device.udid);
      if (!again)
        // Every remaining item would fail the same way: stop the run instead of retrying each one.
        throw new KeepsakeError('DEVICE_DISCONNECTED', `The iPhone ${this.device.udid} is no longer connected`, {
          hint: 'Reconnect it with the cable, unlock it and run again; finished files are kept and the rest resumes.',
          classification: 'fatal',
          cause: err,
        });
      if (again.deviceId === device.deviceId) throw err;
      this.device = again;
      device = again;
      this.current = await openAfc(this.usbmux, device, this.options);
      return this.current;
    }
  }
}
