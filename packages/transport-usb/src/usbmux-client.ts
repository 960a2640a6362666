/**
 * usbmuxd client (the daemon that owns the USB link: Apple Mobile Device Service on Windows and
 * macOS, the `usbmuxd` package on Linux). Every request opens its own socket, like libusbmuxd.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { KeepsakeError } from '@keepsake/core';
import { type PlistDict, decodePlistDict, isDict } from './plist.js';
import { defaultUsbmuxAddress, formatUsbmuxAddress, type UsbmuxAddress } from './usbmux-address.js';
import { encodeUsbmuxPacket, normalizeUdid, readUsbmuxPacket, swapPort, USBMUX_RESULT } from './usbmux-protocol.js';
import { DEFAULT_READ_TIMEOUT_MS, StreamReader } from './stream-reader.js';

export interface UsbmuxDevice {
  /** usbmuxd's small integer handle; changes on every re-plug. */
  deviceId: number;
  udid: string;
  productId: number | undefined;
  connectionType: string;
  locationId: number | undefined;
}

export type UsbmuxEvent =
  | { type: 'attached'; device: UsbmuxDevice }
  | { type: 'detached'; deviceId: number }
  | { type: 'paired'; deviceId: number };

export interface UsbmuxClientOptions {
  address?: UsbmuxAddress;
  env?: NodeJS.ProcessEnv;
  /** Per-read timeout for daemon replies. */
  timeoutMs?: number;
  progName?: string;
}

export class UsbmuxClient {
  readonly address: UsbmuxAddress;
  private readonly timeoutMs: number;
  private readonly progName: string;
  private tag = 0;

  constructor(options: UsbmuxClientOptions = {}) {
    this.address = options.address ?? defaultUsbmuxAddress(options.env);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    this.progName = options.progName ?? 'keepsake';
  }

  async listDevices(): Promise<UsbmuxDevice[]> {
    const reply = await this.request({ MessageType: 'ListDevices' });
    const list = reply.DeviceList;
    if (!Array.isArray(list)) throw this.protocolError('ListDevices reply has no DeviceList');
    return list.flatMap((entry) => {
      const d = isDict(entry) ? parseDevice(entry) : undefined;
      return d ? [d] : [];
    });
  }

  async readBuid(): Promise<string> {
    const reply = await this.request({ MessageType: 'ReadBUID' });
    if (typeof reply.BUID !== 'string') throw this.protocolError('ReadBUID reply has no BUID');
    return reply.BUID;
  }

  /** The stored pair-record plist for a device, or undefined when the host has never paired with it. */
  async readPairRecord(udid: string): Promise<PlistDict | undefined> {
    const reply = await this.request({ MessageType: 'ReadPairRecord', PairRecordID: udid });
    if (reply.MessageType === 'Result') {
      if (reply.Number === USBMUX_RESULT.ENOENT) return undefined;
      throw this.resultError('ReadPairRecord', reply.Number);
    }
    const data = reply.PairRecordData;
    if (!(data instanceof Uint8Array)) throw this.protocolError('ReadPairRecord reply has no PairRecordData');
    return decodePlistDict(data);
  }

  async savePairRecord(udid: string, record: Uint8Array, deviceId?: number): Promise<void> {
    const request: PlistDict = { MessageType: 'SavePairRecord', PairRecordID: udid, PairRecordData: record };
    if (deviceId !== undefined) request.DeviceID = deviceId;
    const reply = await this.request(request);
    if (reply.Number !== USBMUX_RESULT.OK) throw this.resultError('SavePairRecord', reply.Number);
  }

  async deletePairRecord(udid: string): Promise<void> {
    const reply = await this.request({ MessageType: 'DeletePairRecord', PairRecordID: udid });
    if (reply.Number !== USBMUX_RESULT.OK) throw this.resultError('DeletePairRecord', reply.Number);
  }

  /** Opens a byte pipe to a TCP port on the device (lockdownd is 62078). */
  async connect(deviceId: number, port: number): Promise<Duplex> {
    const socket = await this.openSocket();
    const reader = new StreamReader(socket, `connecting to port ${port} on the iPhone`);
    try {
      const tag = this.nextTag();
      socket.write(
        encodeUsbmuxPacket({ ...this.common(), MessageType: 'Connect', DeviceID: deviceId, PortNumber: swapPort(port) }, tag),
      );
      const { body } = await readUsbmuxPacket(reader, this.timeoutMs);
      if (body.Number !== USBMUX_RESULT.OK) {
        socket.destroy();
        if (body.Number === USBMUX_RESULT.BADDEV)
          throw new KeepsakeError('DEVICE_NOT_FOUND', `The iPhone (usbmuxd device ${deviceId}) is no longer connected`, {
            hint: 'Reconnect the iPhone and run again.',
          });
        if (body.Number === USBMUX_RESULT.CONNREFUSED)
          throw new KeepsakeError('DEVICE_CONNECTION_REFUSED', `The iPhone refused a connection to port ${port}`, {
            hint: 'Unlock the iPhone; if it keeps happening, restart it.',
            classification: 'retryable',
          });
        throw this.resultError('Connect', body.Number);
      }
      return reader.detach();
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /**
   * Attach/detach events. Present devices arrive first as `attached`. Iterate with `for await`;
   * breaking out (or aborting `signal`) closes the socket.
   */
  async *listen(signal?: AbortSignal): AsyncGenerator<UsbmuxEvent> {
    const socket = await this.openSocket();
    const reader = new StreamReader(socket, 'listening for iPhones');
    const onAbort = () => socket.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      socket.write(encodeUsbmuxPacket({ ...this.common(), MessageType: 'Listen' }, this.nextTag()));
      const first = await readUsbmuxPacket(reader, this.timeoutMs);
      if (first.body.Number !== USBMUX_RESULT.OK) throw this.resultError('Listen', first.body.Number);
      for (;;) {
        // Events come whenever a device is plugged in: no timeout, the abort signal ends the wait.
        const { body } = await readUsbmuxPacket(reader, 2 ** 31 - 1);
        const id = typeof body.DeviceID === 'number' ? body.DeviceID : undefined;
        if (body.MessageType === 'Attached') {
          const device = parseDevice(body);
          if (device) yield { type: 'attached', device };
        } else if (body.MessageType === 'Detached' && id !== undefined) yield { type: 'detached', deviceId: id };
        else if (body.MessageType === 'Paired' && id !== undefined) yield { type: 'paired', deviceId: id };
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
    }
  }

  private common(): PlistDict {
    return { ClientVersionString: 'keepsake-usbmux 0.1', ProgName: this.progName, kLibUSBMuxVersion: 3 };
  }

  private nextTag(): number {
    this.tag = (this.tag % 0x7fffffff) + 1;
    return this.tag;
  }

  private async request(payload: PlistDict): Promise<PlistDict> {
    const socket = await this.openSocket();
    const reader = new StreamReader(socket, `asking usbmuxd (${String(payload.MessageType)})`);
    try {
      const tag = this.nextTag();
      socket.write(encodeUsbmuxPacket({ ...this.common(), ...payload }, tag));
      for (;;) {
        const { header, body } = await readUsbmuxPacket(reader, this.timeoutMs);
        if (header.tag === tag) return body;
      }
    } finally {
      socket.destroy();
    }
  }

  private openSocket(): Promise<net.Socket> {
    const a = this.address;
    return new Promise((resolve, reject) => {
      const socket = a.kind === 'unix' ? net.connect(a.path) : net.connect(a.port, a.host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(this.unavailable(new Error('connect timed out')));
      }, this.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay?.(true);
        resolve(socket);
      });
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(this.unavailable(err));
      };
      socket.once('error', onError);
    });
  }

  private unavailable(cause: Error): KeepsakeError {
    const where = formatUsbmuxAddress(this.address);
    const hint =
      process.platform === 'win32'
        ? 'Install Apple Devices (Microsoft Store) or iTunes so "Apple Mobile Device Service" runs, then reconnect the iPhone.'
        : process.platform === 'darwin'
          ? 'usbmuxd is part of macOS; reconnect the iPhone, or check USBMUXD_SOCKET_ADDRESS if you set it.'
          : 'Install and start usbmuxd (sudo apt install usbmuxd; it starts when an iPhone is plugged in), or set USBMUXD_SOCKET_ADDRESS.';
    return new KeepsakeError('USBMUXD_UNAVAILABLE', `Cannot reach usbmuxd at ${where}: ${cause.message}`, { hint, cause });
  }

  private protocolError(message: string): KeepsakeError {
    return new KeepsakeError('DEVICE_PROTOCOL_ERROR', `usbmuxd: ${message}`, {
      hint: 'Restart usbmuxd (or Apple Mobile Device Service) and reconnect the iPhone.',
    });
  }

  private resultError(what: string, code: unknown): KeepsakeError {
    return new KeepsakeError('USBMUXD_ERROR', `usbmuxd refused ${what} (result ${String(code)})`, {
      hint: 'Reconnect the iPhone; if it persists restart usbmuxd (or Apple Mobile Device Service).',
    });
  }
}

function parseDevice(entry: PlistDict): UsbmuxDevice | undefined {
  const props = entry.Properties;
  if (!isDict(props)) return undefined;
  const serial = props.SerialNumber;
  const deviceId = typeof entry.DeviceID === 'number' ? entry.DeviceID : props.DeviceID;
  if (typeof serial !== 'string' || typeof deviceId !== 'number' || typeof props.ConnectionType !== 'string') return undefined;
  return {
    deviceId,
    udid: normalizeUdid(serial),
    productId: typeof props.ProductID === 'number' ? props.ProductID : undefined,
    connectionType: props.ConnectionType,
    locationId: typeof props.LocationID === 'number' ? props.LocationID : undefined,
  };
}

