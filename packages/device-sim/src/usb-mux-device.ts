/**
 * The device side of the USB mux protocol for a SimDevice: what an iPhone does on its bulk
 * endpoints. Lets tests run keepsake's direct-USB session (UsbMuxSession) against the same
 * lockdownd/AFC as the usbmuxd path, with no hardware.
 */
import { type Duplex, duplexPair } from 'node:stream';
import { encodeMuxPacket, encodeTcpHeader, MUX_MAX_PAYLOAD, MuxPacketParser, MuxProtocol, TcpFlag } from '@keepsake/transport-usb';
import type { SimDevice } from './sim-device.js';

interface DeviceConnection {
  hostPort: number;
  port: number;
  seq: number;
  ack: number;
  stream: Duplex;
}

export class SimUsbMux {
  private readonly parser = new MuxPacketParser();
  private txSeq = 0;
  private readonly connections = new Map<number, DeviceConnection>();

  /** `deliver` carries device→host packets (a bulk-IN transfer). */
  constructor(
    private readonly device: SimDevice,
    private readonly deliver: (packet: Buffer) => void,
  ) {}

  /** A host→device bulk-OUT transfer. */
  receive(chunk: Uint8Array): void {
    for (const p of this.parser.push(chunk)) {
      if (p.header.protocol === MuxProtocol.VERSION) {
        // Agree to version 2; the reply itself still uses the v1 header.
        const body = Buffer.alloc(12);
        body.writeUInt32BE(2, 0);
        this.deliver(encodeMuxPacket(MuxProtocol.VERSION, body, 1));
        continue;
      }
      if (p.header.protocol !== MuxProtocol.TCP || !p.tcp) continue;
      const t = p.tcp;
      const conn = this.connections.get(t.sport);
      if (t.flags & TcpFlag.RST) {
        conn?.stream.destroy();
        this.connections.delete(t.sport);
      } else if (t.flags === TcpFlag.SYN) {
        if (!this.device.hasPort(t.dport)) {
          this.send({ hostPort: t.sport, port: t.dport, seq: 0, ack: t.seq + 1 }, TcpFlag.RST);
          continue;
        }
        const [hostSide, deviceSide] = duplexPair();
        const c: DeviceConnection = { hostPort: t.sport, port: t.dport, seq: 0, ack: t.seq + 1, stream: hostSide };
        this.connections.set(t.sport, c);
        this.send(c, TcpFlag.SYN | TcpFlag.ACK);
        c.seq = 1;
        hostSide.on('data', (d: Buffer) => {
          for (let off = 0; off < d.length; off += MUX_MAX_PAYLOAD) {
            const piece = d.subarray(off, off + MUX_MAX_PAYLOAD);
            this.send(c, TcpFlag.ACK, piece);
            c.seq += piece.length;
          }
        });
        hostSide.on('close', () => {
          if (this.connections.delete(c.hostPort)) this.send(c, TcpFlag.RST);
        });
        hostSide.on('error', () => undefined);
        this.device.attachStream(t.dport, deviceSide);
      } else if (conn && p.payload.length > 0) {
        conn.ack += p.payload.length;
        conn.stream.write(p.payload);
        this.send(conn, TcpFlag.ACK);
      }
    }
  }

  private send(c: Pick<DeviceConnection, 'hostPort' | 'port' | 'seq' | 'ack'>, flags: number, payload: Buffer = Buffer.alloc(0)): void {
    const tcp = encodeTcpHeader({ sport: c.port, dport: c.hostPort, seq: c.seq, ack: c.ack, flags, window: 131072 });
    const packet = encodeMuxPacket(MuxProtocol.TCP, Buffer.concat([tcp, payload]), this.parser.version, this.txSeq, 0);
    this.txSeq = (this.txSeq + 1) & 0xffff;
    // Deliver asynchronously, like a USB transfer completing.
    setImmediate(() => this.deliver(packet));
  }
}
