import { describe, expect, it } from 'vitest';
import { isAppleMobileProduct } from './usb-direct.js';
import {
  decodeTcpHeader,
  encodeMuxPacket,
  encodeTcpHeader,
  encodeVersionRequest,
  MUX_MAX_PAYLOAD,
  MuxPacketParser,
  MuxProtocol,
  TcpFlag,
} from './usb-mux-protocol.js';
import { UsbMuxSession } from './usb-mux-session.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('USB mux framing (constructed bytes)', () => {
  it('VERSION request: v1 header, protocol 0, length 20, major 2 minor 0 padding 0', () => {
    expect(hex(encodeVersionRequest())).toBe('00000000' + '00000014' + '00000002' + '00000000' + '00000000');
  });

  it('v2 header: protocol, length, FEEDFACE, tx_seq, rx_seq — all big-endian', () => {
    expect(hex(encodeMuxPacket(MuxProtocol.SETUP, Buffer.from([7]), 2, 0, 0xffff))).toBe('00000002' + '00000011' + 'feedface' + '0000' + 'ffff' + '07');
  });

  it('TCP header: ports, seq, ack, data offset 5, flags, window in 256-byte units, zero checksum', () => {
    const b = encodeTcpHeader({ sport: 1, dport: 62078, seq: 1, ack: 0x12345678, flags: TcpFlag.ACK, window: 131072 });
    expect(hex(b)).toBe('0001' + 'f27e' + '00000001' + '12345678' + '50' + '10' + '0200' + '0000' + '0000');
    expect(decodeTcpHeader(b)).toEqual({ sport: 1, dport: 62078, seq: 1, ack: 0x12345678, flags: 0x10, window: 131072 });
  });

  it('reassembles packets across transfers and switches to v2 headers after the VERSION reply', () => {
    const p = new MuxPacketParser();
    const version = Buffer.from('00000000' + '00000014' + '00000002' + '00000000' + '00000000', 'hex');
    const tcp = encodeMuxPacket(MuxProtocol.TCP, Buffer.concat([encodeTcpHeader({ sport: 62078, dport: 1, seq: 5, ack: 1, flags: TcpFlag.ACK, window: 256 }), Buffer.from('hi')]), 2, 3, 0);
    const all = Buffer.concat([version, tcp]);
    const got = [...p.push(all.subarray(0, 7)), ...p.push(all.subarray(7, 30)), ...p.push(all.subarray(30))];
    expect(got.map((x) => x.header.protocol)).toEqual([0, 6]);
    expect(p.version).toBe(2);
    expect(got[1]).toMatchObject({ header: { txSeq: 3, rxSeq: 0 }, tcp: { sport: 62078, dport: 1, seq: 5 }, payload: Buffer.from('hi') });
  });

  it('rejects oversized lengths and a bad magic with DEVICE_PROTOCOL_ERROR', () => {
    const p = new MuxPacketParser();
    expect(() => p.push(Buffer.from('00000006' + 'ffffffff', 'hex'))).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
    const q = new MuxPacketParser();
    q.version = 2;
    expect(() => q.push(Buffer.from('00000006' + '00000010' + 'deadbeef' + '00000000', 'hex'))).toThrow(/magic/);
  });

  it('knows which Apple product ids are mobile devices', () => {
    expect(isAppleMobileProduct(0x12a8)).toBe(true);
    expect(isAppleMobileProduct(0x8600)).toBe(true);
    expect(isAppleMobileProduct(0x0250)).toBe(false);
  });
});

/** A fake device: answers the handshake, accepts port 62078, echoes data upper-cased, refuses other ports. */
function fakeDevice(deliver: (b: Buffer) => void, windowBytes = 131072) {
  const parser = new MuxPacketParser();
  const seen: { protocol: number; txSeq?: number; rxSeq?: number; flags?: number; bytes: number }[] = [];
  /** Headers of the v2 packets this device sent. */
  const sent: { txSeq: number; rxSeq: number }[] = [];
  // Its own numbering starts far from the host's, and its rx_seq field carries the last host tx_seq it received.
  let tx = 0x4000;
  let hostTx = 0;
  let devSeq = 1000;
  const reply = (protocol: number, body: Buffer) => {
    let p: Buffer;
    if (parser.version >= 2) {
      sent.push({ txSeq: tx, rxSeq: hostTx });
      p = encodeMuxPacket(protocol, body, 2, tx++, hostTx);
    } else p = encodeMuxPacket(protocol, body, 1);
    setImmediate(() => deliver(p));
  };
  const send = async (packet: Buffer) => {
    for (const p of parser.push(packet)) {
      seen.push({ protocol: p.header.protocol, txSeq: p.header.txSeq, rxSeq: p.header.rxSeq, flags: p.tcp?.flags, bytes: p.payload.length });
      if (p.header.txSeq !== undefined) hostTx = p.header.txSeq;
      if (p.header.protocol === MuxProtocol.VERSION) setImmediate(() => deliver(Buffer.from('00000000000000140000000200000000' + '00000000', 'hex')));
      if (p.header.protocol !== MuxProtocol.TCP || !p.tcp) continue;
      const t = p.tcp;
      const back = (flags: number, data = Buffer.alloc(0)) => {
        reply(MuxProtocol.TCP, Buffer.concat([encodeTcpHeader({ sport: t.dport, dport: t.sport, seq: devSeq, ack: t.seq + p.payload.length, flags, window: windowBytes }), data]));
        devSeq += data.length;
      };
      if (t.flags === TcpFlag.SYN) {
        if (t.dport === 62078) {
          back(TcpFlag.SYN | TcpFlag.ACK);
          devSeq += 1;
        } else back(TcpFlag.RST, Buffer.from('no listener'));
      } else if (p.payload.toString() === 'quit') back(TcpFlag.FIN | TcpFlag.ACK, Buffer.from('BYE'));
      else if (p.payload.length > 0) back(TcpFlag.ACK, Buffer.from(p.payload.toString().toUpperCase()));
    }
  };
  return { send, seen, sent, parser };
}

describe('UsbMuxSession against a constructed device', () => {
  it('handshakes, connects, carries data both ways, counts sequence numbers and refuses closed ports', async () => {
    let session!: UsbMuxSession;
    const dev = fakeDevice((b) => session.receive(b));
    session = new UsbMuxSession({ send: dev.send, timeoutMs: 2000 });
    await session.start();
    expect(session.protocolVersion).toBe(2);
    expect(dev.seen[1]).toMatchObject({ protocol: MuxProtocol.SETUP, txSeq: 0, rxSeq: 0xffff });

    const stream = await session.connect(62078);
    const got: Buffer[] = [];
    const errors: Error[] = [];
    stream.on('data', (d: Buffer) => got.push(d));
    stream.on('error', (e) => errors.push(e));
    const big = Buffer.alloc(MUX_MAX_PAYLOAD * 2 + 10, 'a');
    stream.write(big);
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(got).toString()).toBe(big.toString().toUpperCase());
    // Split at the mux payload limit, every packet after SETUP numbered 1, 2, 3…
    const data = dev.seen.filter((s) => s.protocol === MuxProtocol.TCP && s.bytes > 0);
    expect(data.map((d) => d.bytes)).toEqual([MUX_MAX_PAYLOAD, MUX_MAX_PAYLOAD, 10]);
    const seqs = dev.seen.filter((s) => s.txSeq !== undefined).map((s) => s.txSeq);
    expect(seqs).toEqual(seqs.map((_, i) => i));

    await expect(session.connect(1234)).rejects.toMatchObject({ code: 'DEVICE_CONNECTION_REFUSED', message: expect.stringContaining('no listener') });

    session.fail(new Error('cable pulled'));
    await new Promise((r) => setImmediate(r));
    expect(stream.destroyed).toBe(true);
    expect(errors).toEqual([expect.objectContaining({ code: 'DEVICE_DISCONNECTED' })]);
    await expect(session.connect(62078)).rejects.toThrow('cable pulled');
  });

  it("sends back the device's own rx_seq in its headers, as usbmuxd does (not the device's tx_seq)", async () => {
    let session!: UsbMuxSession;
    const dev = fakeDevice((b) => session.receive(b));
    session = new UsbMuxSession({ send: dev.send, timeoutMs: 2000 });
    await session.start();
    const stream = await session.connect(62078);
    stream.resume();
    await new Promise<void>((r) => stream.write('ping', () => r()));
    await new Promise((r) => setTimeout(r, 50));
    // The host's packets: SETUP (rx_seq reset to 0xFFFF), SYN, then ones sent after device packets.
    expect(dev.seen[1]).toMatchObject({ protocol: MuxProtocol.SETUP, rxSeq: 0xffff });
    expect(dev.seen[2]).toMatchObject({ flags: TcpFlag.SYN, rxSeq: 0xffff });
    const afterSynAck = dev.seen.slice(3);
    expect(afterSynAck.length).toBeGreaterThan(1);
    // The ACK for SYN-ACK is sent right after the device's first packet, and so on.
    expect(afterSynAck[0]?.rxSeq).toBe(dev.sent[0]?.rxSeq);
    const last = dev.sent.at(-1) as { txSeq: number; rxSeq: number };
    expect(last.txSeq).toBeGreaterThanOrEqual(0x4000);
    expect(dev.seen.at(-1)?.rxSeq).toBe(last.rxSeq);
    const deviceTx = new Set(dev.sent.map((s) => s.txSeq));
    expect(dev.seen.filter((s) => s.rxSeq !== undefined && deviceTx.has(s.rxSeq))).toEqual([]);
    stream.destroy();
  });

  it('never has more bytes in flight than the device window', async () => {
    let session!: UsbMuxSession;
    const dev = fakeDevice((b) => session.receive(b), 1024);
    session = new UsbMuxSession({ send: dev.send, timeoutMs: 2000 });
    await session.start();
    const stream = await session.connect(62078);
    stream.resume();
    await new Promise<void>((r) => stream.write(Buffer.alloc(5000, 'b'), () => r()));
    const sizes = dev.seen.filter((s) => s.protocol === MuxProtocol.TCP && s.bytes > 0).map((s) => s.bytes);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1024);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5000);
  });

  it('ends the stream when the device closes its side with FIN (like usbmuxd), instead of waiting for a timeout', async () => {
    let session!: UsbMuxSession;
    const dev = fakeDevice((b) => session.receive(b));
    session = new UsbMuxSession({ send: dev.send, timeoutMs: 2000 });
    await session.start();
    const stream = await session.connect(62078);
    const got: Buffer[] = [];
    const ended = new Promise<void>((r) => stream.once('end', () => r()));
    const errors: Error[] = [];
    stream.on('data', (d: Buffer) => got.push(d));
    stream.on('error', (e) => errors.push(e));
    stream.write('quit');
    await ended;
    expect(Buffer.concat(got).toString()).toBe('BYE');
    // The connection is torn down on the device side too, as usbmuxd does.
    await new Promise((r) => setTimeout(r, 20));
    expect(dev.seen.at(-1)).toMatchObject({ protocol: MuxProtocol.TCP, flags: TcpFlag.RST });
    await expect(new Promise((resolve, reject) => stream.write('more', (e) => (e ? reject(e) : resolve(undefined))))).rejects.toMatchObject({ code: 'DEVICE_DISCONNECTED' });
    await new Promise((r) => setImmediate(r));
    expect(errors).toEqual([expect.objectContaining({ code: 'DEVICE_DISCONNECTED' })]);
  });

  it('times out when the device never answers the handshake', async () => {
    const session = new UsbMuxSession({ send: async () => undefined, timeoutMs: 50 });
    await expect(session.start()).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
