/**
 * The host side of the USB mux protocol over any byte pipe (`send` out, `receive` in): version
 * handshake, then TCP-like connections to device ports exposed as Node Duplex streams — the same
 * kind of stream usbmuxd's Connect gives, so lockdown and AFC clients run on top unchanged.
 */
import { Duplex } from 'node:stream';
import { KeepsakeError } from '@keepsake/core';
import { disconnectedError, timeoutError } from './stream-reader.js';
import {
  encodeMuxPacket,
  encodeTcpHeader,
  encodeVersionRequest,
  MUX_MAX_PAYLOAD,
  MUX_RX_WINDOW,
  MuxPacketParser,
  MuxProtocol,
  muxProtocolError,
  type TcpHeader,
  TcpFlag,
} from './usb-mux-protocol.js';

interface Connection {
  sport: number;
  dport: number;
  txSeq: number;
  txAck: number;
  /** Highest byte the device acknowledged, and its window: bytes in flight stay within it. */
  deviceAck: number;
  deviceWindow: number;
  stream?: MuxStream;
  onSynAck?: (ok: boolean, reason?: string) => void;
  /** Writes waiting for window space. */
  waiting: (() => void)[];
}

class MuxStream extends Duplex {
  constructor(
    private readonly session: UsbMuxSession,
    private readonly conn: Connection,
  ) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.session.sendData(this.conn, chunk).then(() => callback(), callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.session.reset(this.conn);
    callback(err);
  }
}

export interface UsbMuxSessionOptions {
  /** Sends one mux packet to the device (a bulk-OUT transfer). */
  send(packet: Buffer): Promise<void>;
  timeoutMs?: number;
}

export class UsbMuxSession {
  private readonly parser = new MuxPacketParser();
  private version = 0;
  private txSeq = 0;
  private rxSeq = 0xffff;
  private nextPort = 1;
  private readonly connections = new Map<number, Connection>();
  private versionWaiter: ((major: number) => void) | undefined;
  private dead: Error | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly options: UsbMuxSessionOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  get protocolVersion(): number {
    return this.version;
  }

  /** VERSION handshake (asks for 2.0), then SETUP for v2. */
  async start(): Promise<void> {
    const reply = new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(timeoutError('starting the USB mux protocol', this.timeoutMs)), this.timeoutMs);
      this.versionWaiter = (major) => {
        clearTimeout(t);
        resolve(major);
      };
    });
    await this.options.send(encodeVersionRequest(2, 0));
    const major = await reply;
    if (major !== 1 && major !== 2) throw muxProtocolError(`device speaks mux version ${major}`);
    this.version = major;
    if (major >= 2) {
      this.txSeq = 0;
      this.rxSeq = 0xffff;
      await this.sendPacket(MuxProtocol.SETUP, Buffer.from([0x07]));
    }
  }

  /** Feeds bytes from a bulk-IN transfer. */
  receive(chunk: Uint8Array): void {
    let packets: ReturnType<MuxPacketParser['push']>;
    try {
      packets = this.parser.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    for (const p of packets) {
      // usbmuxd (device.c, device_data_input) copies the device's rx_seq field into the rx_seq it
      // sends next; it never looks at the device's tx_seq.
      if (p.header.rxSeq !== undefined) this.rxSeq = p.header.rxSeq;
      if (p.header.protocol === MuxProtocol.VERSION) {
        this.versionWaiter?.(p.payload.length >= 4 ? p.payload.readUInt32BE(0) : 0);
        this.versionWaiter = undefined;
      } else if (p.header.protocol === MuxProtocol.TCP && p.tcp) this.onTcp(p.tcp, p.payload);
      // CONTROL packets carry log text (3 error, 5 warning, 7 info); nothing to act on.
    }
  }

  /** Opens a stream to a TCP port on the device. */
  async connect(port: number): Promise<Duplex> {
    if (this.dead) throw this.dead;
    if (this.version === 0) throw new KeepsakeError('DEVICE_PROTOCOL_ERROR', 'USB mux session not started');
    const sport = this.nextPort;
    this.nextPort = (this.nextPort % 0xfffe) + 1;
    const conn: Connection = { sport, dport: port, txSeq: 0, txAck: 0, deviceAck: 0, deviceWindow: 0, waiting: [] };
    this.connections.set(sport, conn);
    const established = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.connections.delete(sport);
        reject(timeoutError(`connecting to port ${port} over USB`, this.timeoutMs));
      }, this.timeoutMs);
      conn.onSynAck = (ok, reason) => {
        clearTimeout(t);
        if (ok) resolve();
        else {
          this.connections.delete(sport);
          reject(
            new KeepsakeError('DEVICE_CONNECTION_REFUSED', `The iPhone refused a USB connection to port ${port}${reason ? `: ${reason}` : ''}`, {
              hint: 'Unlock the iPhone; if it keeps happening, restart it.',
              classification: 'retryable',
            }),
          );
        }
      };
    });
    await this.sendTcp(conn, TcpFlag.SYN, Buffer.alloc(0));
    await established;
    conn.txSeq = 1;
    await this.sendTcp(conn, TcpFlag.ACK, Buffer.alloc(0));
    conn.stream = new MuxStream(this, conn);
    return conn.stream;
  }

  /** Sends stream bytes in packets that fit the device's window. */
  async sendData(conn: Connection, data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; ) {
      if (this.dead) throw this.dead;
      if (!this.connections.has(conn.sport)) throw disconnectedError('using the direct USB connection', new Error('connection closed by the iPhone'));
      const inFlight = conn.txSeq - conn.deviceAck;
      const room = Math.min(MUX_MAX_PAYLOAD, conn.deviceWindow - inFlight, data.length - off);
      if (room <= 0) {
        await new Promise<void>((r) => conn.waiting.push(r));
        continue;
      }
      const piece = data.subarray(off, off + room);
      await this.sendTcp(conn, TcpFlag.ACK, piece);
      conn.txSeq = (conn.txSeq + piece.length) >>> 0;
      off += piece.length;
    }
  }

  /** Tears a connection down with RST (stream destroyed locally). */
  reset(conn: Connection): void {
    if (!this.connections.delete(conn.sport) || this.dead) return;
    this.sendTcp(conn, TcpFlag.RST, Buffer.alloc(0)).catch(() => undefined);
  }

  /** The USB link is gone: every stream ends with DEVICE_DISCONNECTED. */
  fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const c of this.connections.values()) {
      c.onSynAck?.(false, err.message);
      c.stream?.destroy(disconnectedError('using the direct USB connection', err));
      for (const w of c.waiting) w();
    }
    this.connections.clear();
  }

  private onTcp(tcp: TcpHeader, payload: Buffer): void {
    const conn = this.connections.get(tcp.dport);
    if (!conn || conn.dport !== tcp.sport) {
      // Unknown connection: tell the device to forget it (anonymous RST), unless it is one itself.
      if (!(tcp.flags & TcpFlag.RST)) {
        const anon = { sport: tcp.dport, dport: tcp.sport, txSeq: tcp.ack, txAck: tcp.seq, deviceAck: 0, deviceWindow: 0, waiting: [] };
        this.sendTcp(anon, TcpFlag.RST, Buffer.alloc(0)).catch(() => undefined);
      }
      return;
    }
    conn.deviceWindow = tcp.window;
    conn.deviceAck = tcp.ack;
    if (conn.onSynAck && !conn.stream) {
      const ok = (tcp.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK) && !(tcp.flags & TcpFlag.RST);
      if (ok) conn.txAck = (tcp.seq + 1) >>> 0;
      conn.onSynAck(ok, ok ? undefined : payload.toString('utf8'));
      conn.onSynAck = undefined;
      return;
    }
    if (tcp.flags & TcpFlag.RST) {
      this.connections.delete(conn.sport);
      conn.stream?.destroy(disconnectedError('using the direct USB connection', new Error(payload.toString('utf8') || 'connection reset')));
      return;
    }
    if (tcp.flags & TcpFlag.FIN) {
      // The device closed its side. usbmuxd tears a connection down on anything but a plain ACK
      // (RST to the device, EOF to the client); do the same so readers see the end at once.
      this.connections.delete(conn.sport);
      if (payload.length > 0) conn.stream?.push(payload);
      conn.stream?.push(null);
      this.sendTcp(conn, TcpFlag.RST, Buffer.alloc(0)).catch(() => undefined);
      for (const w of conn.waiting.splice(0)) w();
      return;
    }
    if (payload.length > 0) {
      conn.txAck = (conn.txAck + payload.length) >>> 0;
      conn.stream?.push(payload);
      this.sendTcp(conn, TcpFlag.ACK, Buffer.alloc(0)).catch((e) => this.fail(e as Error));
    }
    const waiting = conn.waiting.splice(0);
    for (const w of waiting) w();
  }

  private sendTcp(conn: Pick<Connection, 'sport' | 'dport' | 'txSeq' | 'txAck'>, flags: number, payload: Buffer): Promise<void> {
    const tcp = encodeTcpHeader({ sport: conn.sport, dport: conn.dport, seq: conn.txSeq, ack: conn.txAck, flags, window: MUX_RX_WINDOW });
    return this.sendPacket(MuxProtocol.TCP, payload.length > 0 ? Buffer.concat([tcp, payload]) : tcp);
  }

  private sendPacket(protocol: number, body: Buffer): Promise<void> {
    const packet = encodeMuxPacket(protocol, body, this.version, this.txSeq, this.rxSeq);
    if (this.version >= 2) this.txSeq = (this.txSeq + 1) & 0xffff;
    return this.options.send(packet);
  }
}
