/**
 * lockdownd framing (also used by other plist services): u32be length + XML plist. Replies are
 * accepted as XML or bplist.
 */
import { KeepsakeError } from '@keepsake/core';
import { decodePlistDict, encodePlist, type PlistDict } from './plist.js';
import type { StreamReader } from './stream-reader.js';

/** Lockdown messages are small; pair records with certificates are a few KiB. */
export const LOCKDOWN_MAX_MESSAGE = 4 * 1024 * 1024;

export function encodeLockdownMessage(message: PlistDict): Buffer {
  const body = encodePlist(message);
  const out = Buffer.alloc(4 + body.byteLength);
  out.writeUInt32BE(body.byteLength, 0);
  out.set(body, 4);
  return out;
}

export function checkLockdownLength(length: number): void {
  if (length === 0 || length > LOCKDOWN_MAX_MESSAGE)
    throw new KeepsakeError('DEVICE_PROTOCOL_ERROR', `lockdown message length ${length} is out of range (1..${LOCKDOWN_MAX_MESSAGE})`, {
      hint: 'The device sent a corrupt message. Reconnect the iPhone and try again.',
    });
}

export async function readLockdownMessage(reader: StreamReader, timeoutMs?: number, what?: string): Promise<PlistDict> {
  const length = (await reader.read(4, timeoutMs, what)).readUInt32BE(0);
  checkLockdownLength(length);
  return decodePlistDict(await reader.read(length, timeoutMs, what));
}
