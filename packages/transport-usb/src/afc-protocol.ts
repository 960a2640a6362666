/**
 * AFC (Apple File Conduit) wire format: a 40-byte little-endian header
 * (magic "CFA6LPAA", entire_length, this_length, packet_num, operation), header data, payload.
 */
import { KeepsakeError } from '@keepsake/core';

export const AFC_MAGIC = Buffer.from('CFA6LPAA', 'latin1');
export const AFC_HEADER_SIZE = 40;

export const AfcOp = {
  STATUS: 0x01,
  DATA: 0x02,
  READ_DIR: 0x03,
  REMOVE_PATH: 0x08,
  MAKE_DIR: 0x09,
  GET_FILE_INFO: 0x0a,
  GET_DEVINFO: 0x0b,
  FILE_OPEN: 0x0d,
  FILE_OPEN_RES: 0x0e,
  FILE_READ: 0x0f,
  FILE_WRITE: 0x10,
  FILE_SEEK: 0x11,
  FILE_TELL: 0x12,
  FILE_TELL_RES: 0x13,
  FILE_CLOSE: 0x14,
} as const;

export const AfcMode = { RDONLY: 1, RW: 2, WRONLY: 3, WR: 4, APPEND: 5, RDAPPEND: 6 } as const;
export const AfcWhence = { SET: 0, CUR: 1, END: 2 } as const;

export const AFC_STATUS_NAMES: Record<number, string> = {
  0: 'SUCCESS',
  1: 'UNKNOWN_ERROR',
  2: 'OP_HEADER_INVALID',
  3: 'NO_RESOURCES',
  4: 'READ_ERROR',
  5: 'WRITE_ERROR',
  6: 'UNKNOWN_PACKET_TYPE',
  7: 'INVALID_ARG',
  8: 'OBJECT_NOT_FOUND',
  9: 'OBJECT_IS_DIR',
  10: 'PERM_DENIED',
  11: 'SERVICE_NOT_CONNECTED',
  12: 'OP_TIMEOUT',
  13: 'TOO_MUCH_DATA',
  14: 'END_OF_DATA',
  15: 'OP_NOT_SUPPORTED',
  16: 'OBJECT_EXISTS',
  17: 'OBJECT_BUSY',
  18: 'NO_SPACE_LEFT',
  19: 'OP_WOULD_BLOCK',
  20: 'IO_ERROR',
  21: 'OP_INTERRUPTED',
  22: 'OP_IN_PROGRESS',
  23: 'INTERNAL_ERROR',
};

export const AfcStatus = {
  SUCCESS: 0,
  UNKNOWN_ERROR: 1,
  OP_HEADER_INVALID: 2,
  INVALID_ARG: 7,
  OBJECT_NOT_FOUND: 8,
  OBJECT_IS_DIR: 9,
  PERM_DENIED: 10,
  IO_ERROR: 20,
} as const;

export interface AfcHeader {
  entireLength: number;
  thisLength: number;
  packetNum: bigint;
  operation: number;
}

export interface AfcPacket extends AfcHeader {
  headerData: Buffer;
  payload: Buffer;
}

export function encodeAfcPacket(operation: number, packetNum: bigint, headerData: Uint8Array = new Uint8Array(0), payload: Uint8Array = new Uint8Array(0)): Buffer {
  const header = Buffer.alloc(AFC_HEADER_SIZE);
  AFC_MAGIC.copy(header, 0);
  const thisLength = AFC_HEADER_SIZE + headerData.byteLength;
  header.writeBigUInt64LE(BigInt(thisLength + payload.byteLength), 8);
  header.writeBigUInt64LE(BigInt(thisLength), 16);
  header.writeBigUInt64LE(packetNum, 24);
  header.writeBigUInt64LE(BigInt(operation), 32);
  if (payload.byteLength === 0) return Buffer.concat([header, headerData]);
  return Buffer.concat([header, headerData, payload]);
}

/** Parses and checks a header. `maxBody` caps header data + payload so a corrupt length cannot make us allocate. */
export function decodeAfcHeader(b: Uint8Array, maxBody: number): AfcHeader {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (!buf.subarray(0, 8).equals(AFC_MAGIC)) throw afcProtocolError('bad AFC magic');
  const entire = buf.readBigUInt64LE(8);
  const thisLen = buf.readBigUInt64LE(16);
  if (thisLen < BigInt(AFC_HEADER_SIZE) || entire < thisLen) throw afcProtocolError(`inconsistent AFC lengths (${entire}/${thisLen})`);
  if (entire - BigInt(AFC_HEADER_SIZE) > BigInt(maxBody)) throw afcProtocolError(`AFC packet of ${entire} bytes exceeds the ${maxBody}-byte limit`);
  const op = buf.readBigUInt64LE(32);
  if (op > 0xffffn) throw afcProtocolError(`AFC operation ${op} out of range`);
  return { entireLength: Number(entire), thisLength: Number(thisLen), packetNum: buf.readBigUInt64LE(24), operation: Number(op) };
}

export function afcProtocolError(message: string): KeepsakeError {
  return new KeepsakeError('DEVICE_PROTOCOL_ERROR', `AFC: ${message}`, {
    hint: 'The iPhone sent data keepsake cannot read. Reconnect it and run again.',
  });
}

/** A STATUS code as a typed error. */
export function afcStatusError(code: number | bigint, what: string): KeepsakeError {
  const n = Number(code);
  const name = AFC_STATUS_NAMES[n];
  if (n === AfcStatus.OBJECT_NOT_FOUND)
    return new KeepsakeError('SOURCE_ITEM_VANISHED', `${what}: no such file on the iPhone`, {
      hint: 'It was probably deleted on the phone since the scan; run again.',
      pluginCode: 'AFC_E_OBJECT_NOT_FOUND',
    });
  if (n === AfcStatus.PERM_DENIED)
    return new KeepsakeError('DEVICE_PERMISSION_DENIED', `${what}: the iPhone refused access`, {
      hint: 'Unlock the iPhone and keep it unlocked while copying.',
      pluginCode: 'AFC_E_PERM_DENIED',
    });
  return new KeepsakeError('DEVICE_AFC_ERROR', `${what}: the iPhone reported ${name ? `AFC error ${name}` : `an unknown AFC error (${n})`}`, {
    hint: 'Reconnect the iPhone and run again.',
    pluginCode: name ? `AFC_E_${name}` : `AFC_E_${n}`,
  });
}

/** `key\0value\0…` lists (file info, device info). */
export function parseKeyValueList(data: Buffer): Record<string, string> {
  const parts = splitNulList(data);
  const out: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i] as string] = parts[i + 1] as string;
  return out;
}

export function encodeKeyValueList(entries: Record<string, string>): Buffer {
  return Buffer.from(Object.entries(entries).map(([k, v]) => `${k}\0${v}\0`).join(''), 'utf8');
}

/** NUL-terminated strings; a missing final NUL is tolerated only for the last one. */
export function splitNulList(data: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) {
      out.push(data.toString('utf8', start, i));
      start = i + 1;
    }
  }
  if (start < data.length) out.push(data.toString('utf8', start));
  return out;
}

export function cString(s: string): Buffer {
  if (s.includes('\0')) throw afcProtocolError('path contains NUL');
  return Buffer.from(`${s}\0`, 'utf8');
}
