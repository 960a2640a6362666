/**
 * The mux protocol an iPhone speaks on its USB bulk endpoints (what usbmuxd implements): an
 * 8-byte (v1) or 16-byte (v2) big-endian header, a version handshake, and a TCP-like layer
 * (20-byte BSD tcphdr) carrying one byte stream per device port. Pure byte handling here;
 * ./usb-direct.ts moves the bytes over libusb.
 */
import { KeepsakeError } from '@keepsake/core';

export const MuxProtocol = { VERSION: 0, CONTROL: 1, SETUP: 2, TCP: 6 } as const;
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export const MUX_MAGIC = 0xfeedface;
export const MUX_V1_HEADER = 8;
export const MUX_V2_HEADER = 16;
export const TCP_HEADER = 20;
/** Largest mux packet a device sends (usbmuxd DEV_MRU). */
export const MUX_MAX_INCOMING = 65536;
/** Largest mux packet sent to a device (3 × 16 KiB bulk transfers). */
export const MUX_MAX_OUTGOING = 49152;
export const MUX_MAX_PAYLOAD = MUX_MAX_OUTGOING - MUX_V2_HEADER - TCP_HEADER;
/** Our receive window: 128 KiB, advertised in 256-byte units. */
export const MUX_RX_WINDOW = 131072;

export interface MuxHeader {
  protocol: number;
  length: number;
  txSeq?: number;
  rxSeq?: number;
}

export interface TcpHeader {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** In bytes (the wire field counts 256-byte units). */
  window: number;
}

export interface MuxPacket {
  header: MuxHeader;
  tcp?: TcpHeader;
  payload: Buffer;
}

export function muxProtocolError(message: string): KeepsakeError {
  return new KeepsakeError('DEVICE_PROTOCOL_ERROR', `USB mux: ${message}`, {
    hint: 'Unplug and replug the iPhone. If it keeps happening, use usbmuxd (Apple Devices / iTunes on Windows, usbmuxd on Linux) instead of the direct USB mode.',
  });
}

/** The host's first packet: VERSION with a v1 header, asking for protocol 2.0. */
export function encodeVersionRequest(major = 2, minor = 0): Buffer {
  const b = Buffer.alloc(MUX_V1_HEADER + 12);
  b.writeUInt32BE(MuxProtocol.VERSION, 0);
  b.writeUInt32BE(b.length, 4);
  b.writeUInt32BE(major, 8);
  b.writeUInt32BE(minor, 12);
  return b;
}

export function encodeMuxPacket(protocol: number, body: Uint8Array, version: number, txSeq = 0, rxSeq = 0): Buffer {
  const headerSize = version >= 2 ? MUX_V2_HEADER : MUX_V1_HEADER;
  const b = Buffer.alloc(headerSize + body.byteLength);
  b.writeUInt32BE(protocol, 0);
  b.writeUInt32BE(b.length, 4);
  if (version >= 2) {
    b.writeUInt32BE(MUX_MAGIC, 8);
    b.writeUInt16BE(txSeq & 0xffff, 12);
    b.writeUInt16BE(rxSeq & 0xffff, 14);
  }
  b.set(body, headerSize);
  return b;
}

export function encodeTcpHeader(t: TcpHeader): Buffer {
  const b = Buffer.alloc(TCP_HEADER);
  b.writeUInt16BE(t.sport, 0);
  b.writeUInt16BE(t.dport, 2);
  b.writeUInt32BE(t.seq >>> 0, 4);
  b.writeUInt32BE(t.ack >>> 0, 8);
  b[12] = 5 << 4;
  b[13] = t.flags;
  b.writeUInt16BE(Math.min(0xffff, Math.floor(t.window / 256)), 14);
  return b;
}

export function decodeTcpHeader(b: Buffer): TcpHeader {
  if (b.length < TCP_HEADER) throw muxProtocolError('TCP packet shorter than its header');
  const dataOffset = (b[12] as number) >> 4;
  if (dataOffset < 5) throw muxProtocolError('bad TCP data offset');
  return {
    sport: b.readUInt16BE(0),
    dport: b.readUInt16BE(2),
    seq: b.readUInt32BE(4),
    ack: b.readUInt32BE(8),
    flags: b[13] as number,
    window: b.readUInt16BE(14) * 256,
  };
}

/**
 * Reassembles mux packets from bulk-IN transfers (a packet may span several transfers, a transfer
 * may hold several packets). Starts with v1 headers and switches to v2 when the device's VERSION
 * reply says major ≥ 2.
 */
export class MuxPacketParser {
  version = 1;
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): MuxPacket[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: MuxPacket[] = [];
    for (;;) {
      const headerSize = this.version >= 2 ? MUX_V2_HEADER : MUX_V1_HEADER;
      if (this.buf.length < headerSize) return out;
      const protocol = this.buf.readUInt32BE(0);
      const length = this.buf.readUInt32BE(4);
      if (length < headerSize || length > MUX_MAX_INCOMING) throw muxProtocolError(`packet length ${length} out of range`);
      if (this.version >= 2 && this.buf.readUInt32BE(8) !== MUX_MAGIC) throw muxProtocolError('bad packet magic');
      if (this.buf.length < length) return out;
      const header: MuxHeader = { protocol, length };
      if (this.version >= 2) {
        header.txSeq = this.buf.readUInt16BE(12);
        header.rxSeq = this.buf.readUInt16BE(14);
      }
      let body = Buffer.from(this.buf.subarray(headerSize, length));
      this.buf = this.buf.subarray(length);
      let tcp: TcpHeader | undefined;
      if (protocol === MuxProtocol.TCP) {
        tcp = decodeTcpHeader(body);
        body = body.subarray(TCP_HEADER);
      }
      out.push(tcp ? { header, tcp, payload: body } : { header, payload: body });
      // The device answers VERSION with a v1 header; from then on headers are v2 if it agreed to 2.
      if (protocol === MuxProtocol.VERSION && body.length >= 4) this.version = body.readUInt32BE(0) >= 2 ? 2 : 1;
    }
  }
}
