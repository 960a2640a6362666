/**
 * One AFC connection to one phone, re-established after a failure: a pulled cable kills the
 * current connection, and the next item (or a retry) reconnects when the phone is back — found
 * again by UDID, since usbmuxd gives a re-plugged phone a new device id.
 */
import { KeepsakeError } from '@keepsake/core';
import type { AfcClient } from './afc-client.js';
import { type DeviceLink, openAfcOverLink, type PairRecordStore, type SessionOptions, usbmuxLink } from './device-session.js';
import { listUsbDevices } from './device-select.js';
import type { UsbmuxClient, UsbmuxDevice } from './usbmux-client.js';

/** Supplies the link to a phone and finds the phone again after a failure. */
export interface LinkProvider {
  readonly udid: string;
  current(): DeviceLink;
  /** A new link when the phone came back under a new identity, the same when nothing changed, undefined when it is gone. */
  refresh(): Promise<{ link: DeviceLink; changed: boolean } | undefined>;
  close?(): Promise<void>;
}

export function usbmuxLinkProvider(usbmux: UsbmuxClient, device: UsbmuxDevice, pairStore?: PairRecordStore): LinkProvider {
  let current = device;
  let link = usbmuxLink(usbmux, device, pairStore);
  return {
    udid: device.udid,
    current: () => link,
    async refresh() {
      const again = (await listUsbDevices(usbmux)).find((d) => d.udid === device.udid);
      if (!again) return undefined;
      if (again.deviceId === current.deviceId) return { link, changed: false };
      current = again;
      link = usbmuxLink(usbmux, again, pairStore);
      return { link, changed: true };
    },
  };
}

export class AfcConnection {
  private current: AfcClient | undefined;
  private pending: Promise<AfcClient> | undefined;
  private closed = false;

  constructor(
    private readonly provider: LinkProvider,
    private readonly options: SessionOptions,
  ) {}

  get udid(): string {
    return this.provider.udid;
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
    void this.provider.close?.();
  }

  private async connect(): Promise<AfcClient> {
    try {
      this.current = await openAfcOverLink(this.provider.current(), this.options);
      return this.current;
    } catch (err) {
      const again = await this.provider.refresh().catch(() => undefined);
      if (!again)
        // Every remaining item would fail the same way: stop the run instead of retrying each one.
        throw new KeepsakeError('DEVICE_DISCONNECTED', `The iPhone ${this.provider.udid} is no longer connected`, {
          hint: 'Reconnect it with the cable, unlock it and run again; finished files are kept and the rest resumes.',
          classification: 'fatal',
          cause: err,
        });
      if (!again.changed) throw err;
      this.current = await openAfcOverLink(again.link, this.options);
      return this.current;
    }
  }
}
