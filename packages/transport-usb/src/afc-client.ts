/**
 * AFC client for `com.apple.afc` (root = /var/mobile/Media). One request in flight at a time;
 * file reads are streamed in chunks and every reply is awaited with a timeout.
 */
import type { Duplex } from 'node:stream';
import { KeepsakeError, throwIfAborted } from '@keepsake/core';
import {
  AFC_HEADER_SIZE,
  AfcMode,
  AfcOp,
  type AfcPacket,
  AfcWhence,
  afcProtocolError,
  afcStatusError,
  cString,
  decodeAfcHeader,
  encodeAfcPacket,
  parseKeyValueList,
  splitNulList,
} from './afc-protocol.js';
import { DEFAULT_READ_TIMEOUT_MS, StreamReader } from './stream-reader.js';

export const AFC_SERVICE = 'com.apple.afc';
export const DEFAULT_AFC_CHUNK = 1024 * 1024;
/** Non-data replies (listings, info) are small; a listing of 10,000 names is well under this. */
const MAX_REPLY = 16 * 1024 * 1024;

export interface AfcFileInfo {
  size: number;
  blocks: number;
  nlink: number;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mtimeMs: number;
  birthtimeMs: number | undefined;
  linkTarget?: string;
}

export interface AfcReadOptions {
  offset?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  /** Size from get_file_info: a file that ends sooner is reported as SOURCE_ITEM_TRUNCATED. */
  expectedSize?: number;
}

export interface AfcClientOptions {
  timeoutMs?: number;
}

/** True for a single path component that is safe to use on disk (no separators, NUL, `.` or `..`). */
export function isSafeDeviceName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

export class AfcClient {
  private readonly reader: StreamReader;
  private readonly timeoutMs: number;
  private packetNum = 0n;
  private queue: Promise<unknown> = Promise.resolve();
  private broken: Error | undefined;

  constructor(stream: Duplex, options: AfcClientOptions = {}) {
    this.reader = new StreamReader(stream, 'reading files from the iPhone');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  }

  /** False once the connection failed (the phone went away or sent garbage). */
  get usable(): boolean {
    return !this.broken && !this.reader.stream.destroyed;
  }

  close(): void {
    this.reader.stream.destroy();
  }

  /**
   * Names in a directory, without `.` and `..`. A name that is not a safe single path component
   * (`../x`, `a/b`) throws NAME_UNSAFE, or is skipped and passed to `onUnsafe` when given.
   */
  async readDir(path: string, onUnsafe?: (error: KeepsakeError) => void): Promise<string[]> {
    const reply = await this.request(AfcOp.READ_DIR, cString(path), undefined, MAX_REPLY, `listing ${path}`);
    const names: string[] = [];
    for (const n of splitNulList(reply)) {
      if (n === '.' || n === '..') continue;
      if (isSafeDeviceName(n)) {
        names.push(n);
        continue;
      }
      const err = new KeepsakeError('NAME_UNSAFE', `The iPhone listed an unsafe name ${JSON.stringify(n)} in ${path}`, {
        location: path,
        hint: 'keepsake refuses names with path separators, NUL or "..". The file is skipped; report this device/iOS version.',
      });
      if (!onUnsafe) throw err;
      onUnsafe(err);
    }
    return names;
  }

  async getFileInfo(path: string): Promise<AfcFileInfo> {
    const kv = parseKeyValueList(await this.request(AfcOp.GET_FILE_INFO, cString(path), undefined, MAX_REPLY, `reading info of ${path}`));
    const num = (k: string, required: boolean): number | undefined => {
      const v = kv[k];
      if (v === undefined) {
        if (required) throw afcProtocolError(`file info for ${path} lacks ${k}`);
        return undefined;
      }
      if (!/^\d{1,20}$/.test(v)) throw afcProtocolError(`file info ${k}=${JSON.stringify(v.slice(0, 30))} for ${path} is not a number`);
      const n = Number(v);
      if (!Number.isSafeInteger(n) && k === 'st_size') throw afcProtocolError(`file size ${v} for ${path} is too large`);
      return n;
    };
    const ifmt = kv.st_ifmt;
    const info: AfcFileInfo = {
      size: num('st_size', true) as number,
      blocks: num('st_blocks', false) ?? 0,
      nlink: num('st_nlink', false) ?? 1,
      type: ifmt === 'S_IFREG' ? 'file' : ifmt === 'S_IFDIR' ? 'directory' : ifmt === 'S_IFLNK' ? 'symlink' : 'other',
      mtimeMs: Math.floor((num('st_mtime', false) ?? 0) / 1e6),
      birthtimeMs: kv.st_birthtime ? Math.floor((num('st_birthtime', false) ?? 0) / 1e6) : undefined,
    };
    if (kv.LinkTarget) info.linkTarget = kv.LinkTarget;
    return info;
  }

  async getDeviceInfo(): Promise<Record<string, string>> {
    return parseKeyValueList(await this.request(AfcOp.GET_DEVINFO, undefined, undefined, MAX_REPLY, 'reading device info'));
  }

  async removePath(path: string): Promise<void> {
    await this.request(AfcOp.REMOVE_PATH, cString(path), undefined, MAX_REPLY, `removing ${path}`);
  }

  /** Opens a file; returns the opaque 8-byte handle. */
  async open(path: string, mode: number = AfcMode.RDONLY): Promise<Buffer> {
    const hd = Buffer.concat([u64(mode), cString(path)]);
    const handle = await this.request(AfcOp.FILE_OPEN, hd, undefined, MAX_REPLY, `opening ${path}`, AfcOp.FILE_OPEN_RES);
    if (handle.length < 8) throw afcProtocolError(`FILE_OPEN reply for ${path} has no handle`);
    const h = Buffer.from(handle.subarray(0, 8));
    if (h.readBigUInt64LE(0) === 0n) throw afcProtocolError(`FILE_OPEN for ${path} returned handle 0`);
    return h;
  }

  async read(handle: Buffer, length: number): Promise<Buffer> {
    return this.request(AfcOp.FILE_READ, Buffer.concat([handle, u64(length)]), undefined, length, 'reading a file');
  }

  async seek(handle: Buffer, offset: number, whence: number = AfcWhence.SET): Promise<void> {
    const hd = Buffer.alloc(24);
    handle.copy(hd, 0);
    hd.writeBigUInt64LE(BigInt(whence), 8);
    hd.writeBigInt64LE(BigInt(offset), 16);
    await this.request(AfcOp.FILE_SEEK, hd, undefined, MAX_REPLY, 'seeking in a file');
  }

  async tell(handle: Buffer): Promise<number> {
    const r = await this.request(AfcOp.FILE_TELL, handle, undefined, MAX_REPLY, 'asking a file position', AfcOp.FILE_TELL_RES);
    if (r.length < 8) throw afcProtocolError('FILE_TELL reply too short');
    return Number(r.readBigUInt64LE(0));
  }

  async closeFile(handle: Buffer): Promise<void> {
    await this.request(AfcOp.FILE_CLOSE, handle, undefined, MAX_REPLY, 'closing a file');
  }

  /** Streams a file from `offset` in `chunkSize` pieces. Never holds more than one chunk. */
  async *readFile(path: string, options: AfcReadOptions = {}): AsyncGenerator<Uint8Array> {
    const chunkSize = options.chunkSize ?? DEFAULT_AFC_CHUNK;
    const offset = options.offset ?? 0;
    throwIfAborted(options.signal);
    const handle = await this.open(path);
    let position = offset;
    try {
      if (offset > 0) await this.seek(handle, offset);
      for (;;) {
        throwIfAborted(options.signal);
        const chunk = await this.read(handle, chunkSize);
        if (chunk.length === 0) break;
        position += chunk.length;
        if (options.expectedSize !== undefined && position > options.expectedSize)
          throw new KeepsakeError('SOURCE_ITEM_CHANGED', `${path} on the iPhone is larger than when it was scanned`, {
            location: path,
            hint: 'The file changed on the phone; run again.',
          });
        yield chunk;
      }
      if (options.expectedSize !== undefined && position < options.expectedSize)
        throw new KeepsakeError('SOURCE_ITEM_TRUNCATED', `${path} ended after ${position} of ${options.expectedSize} bytes`, {
          location: path,
          hint: 'The iPhone returned less data than the file size it reported. Run again; if it repeats, the file may be damaged on the phone.',
        });
    } finally {
      if (this.usable) await this.closeFile(handle).catch(() => undefined);
    }
  }

  /**
   * Sends one request and returns the reply body; STATUS ≠ 0 becomes a typed error. Requests are
   * written at once (pipelined) and replies, which the device sends in order, are read in turn,
   * so concurrent callers (stat of a whole folder, several files) do not pay one round trip each.
   */
  private request(op: number, headerData: Uint8Array | undefined, payload: Uint8Array | undefined, maxBody: number, what: string, expectOp: number = AfcOp.DATA): Promise<Buffer> {
    if (this.broken) return Promise.reject(this.broken);
    this.packetNum += 1n;
    const num = this.packetNum;
    this.reader.stream.write(encodeAfcPacket(op, num, headerData, payload));
    const receive = async (): Promise<Buffer> => {
      if (this.broken) throw this.broken;
      try {
        const reply = await this.readPacket(Math.max(maxBody, 64), what);
        if (reply.packetNum !== num) throw afcProtocolError(`reply number ${reply.packetNum} does not match request ${num}`);
        const body = reply.payload.length === 0 ? reply.headerData : reply.headerData.length === 0 ? reply.payload : Buffer.concat([reply.headerData, reply.payload]);
        if (reply.operation === AfcOp.STATUS) {
          if (body.length < 8) throw afcProtocolError('STATUS reply without a code');
          const code = body.readBigUInt64LE(0);
          if (code !== 0n) throw afcStatusError(code, what);
          return Buffer.alloc(0);
        }
        if (reply.operation !== expectOp) throw afcProtocolError(`unexpected reply operation 0x${reply.operation.toString(16)} to 0x${op.toString(16)}`);
        return body;
      } catch (err) {
        // Anything but a clean STATUS error leaves the stream in an unknown state.
        if (!(err instanceof KeepsakeError) || !['SOURCE_ITEM_VANISHED', 'DEVICE_PERMISSION_DENIED', 'DEVICE_AFC_ERROR'].includes(err.code)) {
          this.broken = err as Error;
          this.reader.stream.destroy();
        }
        throw err;
      }
    };
    const p = this.queue.then(receive, receive);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async readPacket(maxBody: number, what: string): Promise<AfcPacket> {
    const header = decodeAfcHeader(await this.reader.read(AFC_HEADER_SIZE, this.timeoutMs, what), maxBody);
    const headerData = await this.reader.read(header.thisLength - AFC_HEADER_SIZE, this.timeoutMs, what);
    const payload = await this.reader.read(header.entireLength - header.thisLength, this.timeoutMs, what);
    return { ...header, headerData, payload };
  }
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n), 0);
  return b;
}
