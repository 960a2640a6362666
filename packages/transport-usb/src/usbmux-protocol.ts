/**
 * usbmuxd wire format: a 16-byte little-endian header (length incl. header, version, message, tag)
 * followed by an XML plist (protocol version 1, message type 8).
 */
import { KeepsakeError } from '@keepsake/core';
import { decodePlistDict, encodePlist, type PlistDict } from './plist.js';
import type { StreamReader } from './stream-reader.js';

export const USBMUX_HEADER_SIZE = 16;
export const USBMUX_VERSION_PLIST = 1;
export const USBMUX_MESSAGE_RESULT = 1;
export const USBMUX_MESSAGE_PLIST = 8;
/** Replies are small plists; a pair record is a few KiB. Anything above this is a corrupt length. */
export const USBMUX_MAX_PACKET = 4 * 1024 * 1024;

export const USBMUX_RESULT = { OK: 0, BADCOMMAND: 1, BADDEV: 2, CONNREFUSED: 3, BADVERSION: 6, ENOENT: 2 } as const;

export const LOCKDOWN_PORT = 62078;

export interface UsbmuxHeader {
  length: number;
  version: number;
  message: number;
  tag: number;
}

export function encodeUsbmuxPacket(payload: PlistDict, tag: number): Buffer {
  const body = encodePlist(payload);
  const header = Buffer.alloc(USBMUX_HEADER_SIZE);
  header.writeUInt32LE(USBMUX_HEADER_SIZE + body.byteLength, 0);
  header.writeUInt32LE(USBMUX_VERSION_PLIST, 4);
  header.writeUInt32LE(USBMUX_MESSAGE_PLIST, 8);
  header.writeUInt32LE(tag >>> 0, 12);
  return Buffer.concat([header, body]);
}

export function decodeUsbmuxHeader(b: Uint8Array): UsbmuxHeader {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const header = { length: buf.readUInt32LE(0), version: buf.readUInt32LE(4), message: buf.readUInt32LE(8), tag: buf.readUInt32LE(12) };
  if (header.length < USBMUX_HEADER_SIZE || header.length > USBMUX_MAX_PACKET)
    throw new KeepsakeError('DEVICE_PROTOCOL_ERROR', `usbmux packet length ${header.length} is out of range`, {
      hint: 'The usbmuxd socket is not speaking the usbmux protocol. Check USBMUXD_SOCKET_ADDRESS.',
    });
  return header;
}

export interface UsbmuxPacket {
  header: UsbmuxHeader;
  /** Plist body for message 8; `Number` for a binary RESULT. */
  body: PlistDict;
}

export async function readUsbmuxPacket(reader: StreamReader, timeoutMs?: number): Promise<UsbmuxPacket> {
  const header = decodeUsbmuxHeader(await reader.read(USBMUX_HEADER_SIZE, timeoutMs));
  const payload = await reader.read(header.length - USBMUX_HEADER_SIZE, timeoutMs);
  if (header.message === USBMUX_MESSAGE_PLIST) return { header, body: decodePlistDict(payload) };
  if (header.message === USBMUX_MESSAGE_RESULT && payload.length >= 4) return { header, body: { MessageType: 'Result', Number: payload.readUInt32LE(0) } };
  return { header, body: { MessageType: `binary:${header.message}` } };
}

/** usbmuxd wants the port as htons(port) read back as a little-endian number. */
export function swapPort(port: number): number {
  return ((port & 0xff) << 8) | ((port >> 8) & 0xff);
}

/** A 24-character USB serial becomes the 25-character UDID with a dash after the 8th character. */
export function normalizeUdid(serial: string): string {
  return serial.length === 24 && !serial.includes('-') ? `${serial.slice(0, 8)}-${serial.slice(8)}` : serial;
}
