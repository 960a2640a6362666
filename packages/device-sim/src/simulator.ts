/**
 * A fake usbmuxd with simulated iPhones behind it. Serves the plist protocol on a Unix socket
 * and/or 127.0.0.1:port, so keepsake and the stock libimobiledevice tools talk to it through
 * `USBMUXD_SOCKET_ADDRESS`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodePlistDict,
  encodePlist,
  encodeUsbmuxPacket,
  type PlistDict,
  readUsbmuxPacket,
  StreamReader,
  swapPort,
  USBMUX_RESULT,
} from '@keepsake/transport-usb';
import { SimDevice, type SimDeviceOptions } from './sim-device.js';

export interface SimulatorOptions {
  /** Unix socket path. Default: a fresh temp dir's `usbmuxd` when `tcpPort` is not given. */
  socketPath?: string;
  /** Also (or instead) listen on 127.0.0.1:tcpPort (0 = any free port). */
  tcpPort?: number;
  /** Devices attached at start. */
  devices?: SimDeviceOptions[];
}

interface Attached {
  id: number;
  device: SimDevice;
}

export class Simulator {
  readonly systemBuid = randomUUID().toUpperCase();
  private readonly servers: net.Server[] = [];
  private readonly attached = new Map<number, Attached>();
  private readonly listeners = new Set<net.Socket>();
  private readonly clients = new Set<net.Socket>();
  private readonly pairRecords = new Map<string, Uint8Array>();
  private nextId = 1;
  private tempDir: string | undefined;
  socketPath: string | undefined;
  tcpPort: number | undefined;

  private constructor() {}

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const sim = new Simulator();
    let socketPath = options.socketPath;
    if (!socketPath && options.tcpPort === undefined) {
      sim.tempDir = await mkdtemp(join(tmpdir(), 'keepsake-sim-'));
      socketPath = join(sim.tempDir, 'usbmuxd');
    }
    if (socketPath) {
      await rm(socketPath, { force: true });
      const server = net.createServer((s) => sim.handle(s));
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
      sim.servers.push(server);
      sim.socketPath = socketPath;
    }
    if (options.tcpPort !== undefined) {
      const server = net.createServer((s) => sim.handle(s));
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.tcpPort, '127.0.0.1', resolve));
      sim.servers.push(server);
      sim.tcpPort = (server.address() as net.AddressInfo).port;
    }
    for (const d of options.devices ?? []) sim.attach(d);
    return sim;
  }

  /** The value to export as USBMUXD_SOCKET_ADDRESS. */
  get address(): string {
    return this.socketPath ? `UNIX:${this.socketPath}` : `127.0.0.1:${this.tcpPort}`;
  }

  /** Environment for child processes (libimobiledevice tools, the keepsake CLI). */
  env(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...base, USBMUXD_SOCKET_ADDRESS: this.address };
  }

  get devices(): SimDevice[] {
    return [...this.attached.values()].map((a) => a.device);
  }

  /** Plugs in a device (a SimDevice or options for a new one). Returns it. */
  attach(device: SimDevice | SimDeviceOptions = {}): SimDevice {
    const d = device instanceof SimDevice ? device : new SimDevice(device);
    const entry = { id: this.nextId++, device: d };
    this.attached.set(entry.id, entry);
    for (const l of this.listeners) l.write(encodeUsbmuxPacket(this.attachedEvent(entry), 0));
    return d;
  }

  /** Unplugs a device: open connections drop and listeners get `Detached`. */
  detach(device: SimDevice): void {
    for (const [id, a] of this.attached) {
      if (a.device !== device) continue;
      this.attached.delete(id);
      device.disconnectAll();
      for (const l of this.listeners) l.write(encodeUsbmuxPacket({ MessageType: 'Detached', DeviceID: id }, 0));
    }
  }

  /** The host pair record usbmuxd holds for a device (what keepsake/idevicepair saved). */
  pairRecord(udid: string): PlistDict | undefined {
    const r = this.pairRecords.get(udid);
    return r ? decodePlistDict(r) : undefined;
  }

  async stop(): Promise<void> {
    for (const a of this.attached.values()) a.device.disconnectAll();
    for (const c of this.clients) c.destroy();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
  }

  private attachedEvent(a: Attached): PlistDict {
    return {
      MessageType: 'Attached',
      DeviceID: a.id,
      Properties: {
        ConnectionSpeed: 480000000,
        ConnectionType: 'USB',
        DeviceID: a.id,
        LocationID: (1 << 16) | a.id,
        ProductID: a.device.productId,
        SerialNumber: a.device.udid,
      },
    };
  }

  private handle(socket: net.Socket): void {
    this.clients.add(socket);
    // Request/response traffic: without this, Nagle + delayed ACK stall TCP clients ~40 ms a reply.
    socket.setNoDelay(true);
    socket.on('close', () => {
      this.clients.delete(socket);
      this.listeners.delete(socket);
    });
    socket.on('error', () => undefined);
    const reader = new StreamReader(socket, 'serving usbmuxd');
    const send = (body: PlistDict, tag: number) => socket.write(encodeUsbmuxPacket(body, tag));
    const result = (n: number, tag: number) => send({ MessageType: 'Result', Number: n }, tag);
    const loop = async () => {
      for (;;) {
        const { header, body } = await readUsbmuxPacket(reader, 2 ** 31 - 1);
        const tag = header.tag;
        if (header.version !== 1) {
          result(USBMUX_RESULT.BADVERSION, tag);
          continue;
        }
        switch (body.MessageType) {
          case 'ListDevices':
            send({ DeviceList: [...this.attached.values()].map((a) => this.attachedEvent(a)) }, tag);
            break;
          case 'Listen':
            result(USBMUX_RESULT.OK, tag);
            this.listeners.add(socket);
            for (const a of this.attached.values()) send(this.attachedEvent(a), 0);
            break;
          case 'ReadBUID':
            send({ BUID: this.systemBuid }, tag);
            break;
          case 'ReadPairRecord': {
            const r = typeof body.PairRecordID === 'string' ? this.pairRecords.get(body.PairRecordID) : undefined;
            if (r) send({ PairRecordData: r }, tag);
            else result(USBMUX_RESULT.ENOENT, tag);
            break;
          }
          case 'SavePairRecord': {
            const id = body.PairRecordID;
            const data = body.PairRecordData;
            if (typeof id !== 'string' || !(data instanceof Uint8Array)) {
              result(22 /* EINVAL */, tag);
              break;
            }
            // Like usbmuxd: parse whatever came (libimobiledevice sends bplist) and store XML.
            let xml: Uint8Array;
            try {
              xml = encodePlist(decodePlistDict(data));
            } catch {
              result(22, tag);
              break;
            }
            this.pairRecords.set(id, xml);
            result(USBMUX_RESULT.OK, tag);
            const deviceId = body.DeviceID;
            const a = typeof deviceId === 'number' ? this.attached.get(deviceId) : undefined;
            if (a && a.device.udid === id) for (const l of this.listeners) l.write(encodeUsbmuxPacket({ MessageType: 'Paired', DeviceID: a.id }, 0));
            break;
          }
          case 'DeletePairRecord':
            if (typeof body.PairRecordID === 'string') this.pairRecords.delete(body.PairRecordID);
            result(USBMUX_RESULT.OK, tag);
            break;
          case 'ListListeners':
            send({ ListenerList: [] }, tag);
            break;
          case 'Connect': {
            const a = typeof body.DeviceID === 'number' ? this.attached.get(body.DeviceID) : undefined;
            if (!a) {
              result(USBMUX_RESULT.BADDEV, tag);
              break;
            }
            const port = typeof body.PortNumber === 'number' ? swapPort(body.PortNumber) : -1;
            if (!a.device.hasPort(port)) {
              result(USBMUX_RESULT.CONNREFUSED, tag);
              break;
            }
            result(USBMUX_RESULT.OK, tag);
            a.device.attachStream(port, reader.detach());
            return;
          }
          default:
            result(USBMUX_RESULT.BADCOMMAND, tag);
        }
      }
    };
    loop().catch(() => socket.destroy());
  }
}
