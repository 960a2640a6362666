import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StreamReader } from './stream-reader.js';
import { defaultUsbmuxAddress, formatUsbmuxAddress, parseUsbmuxAddress } from './usbmux-address.js';
import { decodeUsbmuxHeader, encodeUsbmuxPacket, normalizeUdid, readUsbmuxPacket, swapPort } from './usbmux-protocol.js';

describe('usbmux packets', () => {
  it('writes a 16-byte little-endian header with version 1, message 8 and the tag', () => {
    const p = encodeUsbmuxPacket({ MessageType: 'ListDevices' }, 7);
    expect(p.readUInt32LE(0)).toBe(p.length);
    expect(p.readUInt32LE(4)).toBe(1);
    expect(p.readUInt32LE(8)).toBe(8);
    expect(p.readUInt32LE(12)).toBe(7);
    expect(p.subarray(16).toString()).toContain('<string>ListDevices</string>');
  });

  it('reads a packet split across chunks', async () => {
    const s = new PassThrough();
    const reader = new StreamReader(s);
    const p = encodeUsbmuxPacket({ MessageType: 'Result', Number: 0 }, 3);
    for (let i = 0; i < p.length; i += 5) s.write(p.subarray(i, i + 5));
    const { header, body } = await readUsbmuxPacket(reader, 1000);
    expect(header.tag).toBe(3);
    expect(body).toEqual({ MessageType: 'Result', Number: 0 });
  });

  it('rejects oversized and undersized lengths before reading a body', () => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(0xffffffff, 0);
    expect(() => decodeUsbmuxHeader(h)).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
    h.writeUInt32LE(3, 0);
    expect(() => decodeUsbmuxHeader(h)).toThrow(expect.objectContaining({ code: 'DEVICE_PROTOCOL_ERROR' }));
  });

  it('byte-swaps the port like htons (62078 ↔ 32498)', () => {
    expect(swapPort(62078)).toBe(32498);
    expect(swapPort(32498)).toBe(62078);
  });

  it('inserts the dash into 24-character serials only', () => {
    expect(normalizeUdid('00008030001A2D8E3A08802E')).toBe('00008030-001A2D8E3A08802E');
    expect(normalizeUdid('a'.repeat(40))).toBe('a'.repeat(40));
  });
});

describe('usbmuxd address', () => {
  it('parses UNIX:, host:port and [v6]:port', () => {
    expect(parseUsbmuxAddress('UNIX:/tmp/x')).toEqual({ kind: 'unix', path: '/tmp/x' });
    expect(parseUsbmuxAddress('127.0.0.1:27015')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 27015 });
    expect(parseUsbmuxAddress('[::1]:5000')).toEqual({ kind: 'tcp', host: '::1', port: 5000 });
    expect(formatUsbmuxAddress({ kind: 'tcp', host: '::1', port: 5000 })).toBe('[::1]:5000');
  });

  it('rejects nonsense with OPTION_INVALID', () => {
    for (const bad of ['UNIX:', 'localhost', 'host:0', 'host:70000', 'host:12ab', ':80'])
      expect(() => parseUsbmuxAddress(bad)).toThrow(expect.objectContaining({ code: 'OPTION_INVALID' }));
  });

  it('uses the platform default unless the environment overrides it', () => {
    expect(defaultUsbmuxAddress({}, 'linux')).toEqual({ kind: 'unix', path: '/var/run/usbmuxd' });
    expect(defaultUsbmuxAddress({}, 'darwin')).toEqual({ kind: 'unix', path: '/var/run/usbmuxd' });
    expect(defaultUsbmuxAddress({}, 'win32')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 27015 });
    expect(defaultUsbmuxAddress({ USBMUXD_SOCKET_ADDRESS: 'UNIX:/s' }, 'win32')).toEqual({ kind: 'unix', path: '/s' });
  });
});
