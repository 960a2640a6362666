/**
 * The simulated phone's AFC service: answers READ_DIR, GET_FILE_INFO, GET_DEVINFO, FILE_OPEN/
 * READ/SEEK/TELL/CLOSE and REMOVE_PATH from the generated camera roll, with fault injection
 * (disconnect after N bytes, slow link).
 */
import type { Duplex } from 'node:stream';
import {
  AFC_HEADER_SIZE,
  AfcOp,
  AfcStatus,
  AfcWhence,
  decodeAfcHeader,
  encodeAfcPacket,
  encodeKeyValueList,
  splitNulList,
  StreamReader,
} from '@keepsake/transport-usb';
import type { SimFile, SimFs } from './camera-roll.js';

export interface AfcFaults {
  /** Close the connection once this many file bytes were served (counts across connections). */
  disconnectAfterBytes?: number;
  /** Throttle file data to this many bytes per second. */
  bytesPerSecond?: number;
}

export interface AfcServerContext {
  fs: SimFs;
  model: string;
  faults: AfcFaults;
  /** Called with each chunk's size (statistics). */
  onBytesServed(n: number): void;
  /** Called before each FILE_READ is answered (tests use it to pull the cable at a chosen moment). */
  onRead?(path: string, offset: number, length: number): void;
}

const MAX_REQUEST = 64 * 1024 * 1024;
const MAX_READ = 64 * 1024 * 1024;

interface OpenFile {
  file: SimFile;
  position: number;
}

function statusPacket(num: bigint, code: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(code), 0);
  return encodeAfcPacket(AfcOp.STATUS, num, b);
}

const pathOf = (b: Buffer) => splitNulList(b)[0] ?? '';
const normalize = (p: string) => {
  const parts = p.split('/').filter((x) => x && x !== '.');
  return `/${parts.join('/')}`;
};

export function serveAfc(stream: Duplex, ctx: AfcServerContext): void {
  const reader = new StreamReader(stream, 'serving AFC');
  const handles = new Map<bigint, OpenFile>();
  let nextHandle = 1n;
  const write = (b: Buffer) => stream.write(b);

  const loop = async () => {
    for (;;) {
      const header = decodeAfcHeader(await reader.read(AFC_HEADER_SIZE, 2 ** 31 - 1), MAX_REQUEST);
      const hd = await reader.read(header.thisLength - AFC_HEADER_SIZE);
      await reader.read(header.entireLength - header.thisLength);
      const num = header.packetNum;
      switch (header.operation) {
        case AfcOp.READ_DIR: {
          const entries = ctx.fs.dirs.get(normalize(pathOf(hd)));
          if (!entries) write(statusPacket(num, ctx.fs.files.has(normalize(pathOf(hd))) ? AfcStatus.INVALID_ARG : AfcStatus.OBJECT_NOT_FOUND));
          else write(encodeAfcPacket(AfcOp.DATA, num, Buffer.from(['.', '..', ...entries].map((e) => `${e}\0`).join(''), 'utf8')));
          break;
        }
        case AfcOp.GET_FILE_INFO: {
          const p = normalize(pathOf(hd));
          const f = ctx.fs.files.get(p);
          const isDir = ctx.fs.dirs.has(p);
          if (!f && !isDir) {
            write(statusPacket(num, AfcStatus.OBJECT_NOT_FOUND));
            break;
          }
          const size = f ? (f.reportedSize ?? f.content.size) : 68;
          const ns = (ms: number) => `${BigInt(Math.floor(ms)) * 1_000_000n}`;
          write(
            encodeAfcPacket(
              AfcOp.DATA,
              num,
              encodeKeyValueList({
                st_size: String(size),
                st_blocks: String(Math.ceil(size / 512)),
                st_nlink: f ? '1' : String(2 + (ctx.fs.dirs.get(p)?.length ?? 0)),
                st_ifmt: f ? 'S_IFREG' : 'S_IFDIR',
                st_mtime: ns(f?.mtimeMs ?? 1.7e12),
                st_birthtime: ns(f?.birthtimeMs ?? 1.7e12),
              }),
            ),
          );
          break;
        }
        case AfcOp.GET_DEVINFO: {
          let used = 0;
          for (const f of ctx.fs.files.values()) used += f.content.size;
          const total = 128 * 1024 ** 3;
          write(
            encodeAfcPacket(
              AfcOp.DATA,
              num,
              encodeKeyValueList({ Model: ctx.model, FSTotalBytes: String(total), FSFreeBytes: String(total - used), FSBlockSize: '4096' }),
            ),
          );
          break;
        }
        case AfcOp.FILE_OPEN: {
          const mode = hd.length >= 8 ? hd.readBigUInt64LE(0) : 0n;
          const p = normalize(pathOf(hd.subarray(8)));
          const f = ctx.fs.files.get(p);
          if (mode !== 1n) write(statusPacket(num, AfcStatus.PERM_DENIED));
          else if (!f) write(statusPacket(num, ctx.fs.dirs.has(p) ? AfcStatus.OBJECT_IS_DIR : AfcStatus.OBJECT_NOT_FOUND));
          else if (f.denied) write(statusPacket(num, AfcStatus.PERM_DENIED));
          else {
            const h = nextHandle++;
            handles.set(h, { file: f, position: 0 });
            const hb = Buffer.alloc(8);
            hb.writeBigUInt64LE(h, 0);
            write(encodeAfcPacket(AfcOp.FILE_OPEN_RES, num, hb));
          }
          break;
        }
        case AfcOp.FILE_READ: {
          const open = hd.length >= 16 ? handles.get(hd.readBigUInt64LE(0)) : undefined;
          if (!open) {
            write(statusPacket(num, AfcStatus.INVALID_ARG));
            break;
          }
          const want = Math.min(Number(hd.readBigUInt64LE(8)), MAX_READ);
          ctx.onRead?.(open.file.path, open.position, want);
          if (stream.destroyed) return;
          const data = open.file.content.read(open.position, want);
          const limit = ctx.faults.disconnectAfterBytes;
          if (limit !== undefined && data.length >= limit) {
            // Cut the link mid-reply: send the header and part of the data, then vanish.
            ctx.faults.disconnectAfterBytes = undefined;
            const head = encodeAfcPacket(AfcOp.DATA, num, Buffer.alloc(0), data);
            stream.end(head.subarray(0, AFC_HEADER_SIZE + limit));
            stream.destroy();
            return;
          }
          if (limit !== undefined) ctx.faults.disconnectAfterBytes = limit - data.length;
          if (ctx.faults.bytesPerSecond) await new Promise((r) => setTimeout(r, (data.length / (ctx.faults.bytesPerSecond as number)) * 1000));
          open.position += data.length;
          ctx.onBytesServed(data.length);
          const head = Buffer.alloc(AFC_HEADER_SIZE);
          encodeAfcPacket(AfcOp.DATA, num).copy(head);
          head.writeBigUInt64LE(BigInt(AFC_HEADER_SIZE + data.length), 8);
          // One writev for header + data.
          stream.cork();
          write(head);
          const flowing = data.length === 0 || write(data);
          stream.uncork();
          if (!flowing)
            await new Promise<void>((r) => {
              // whichever comes first; the other listener is removed so they never pile up
              const done = () => {
                stream.off('drain', done);
                stream.off('close', done);
                r();
              };
              stream.once('drain', done);
              stream.once('close', done);
            });
          break;
        }
        case AfcOp.FILE_SEEK: {
          const open = hd.length >= 24 ? handles.get(hd.readBigUInt64LE(0)) : undefined;
          if (!open) {
            write(statusPacket(num, AfcStatus.INVALID_ARG));
            break;
          }
          const whence = Number(hd.readBigUInt64LE(8));
          const offset = Number(hd.readBigInt64LE(16));
          const base = whence === AfcWhence.SET ? 0 : whence === AfcWhence.CUR ? open.position : open.file.content.size;
          const next = base + offset;
          if (next < 0 || whence > 2) write(statusPacket(num, AfcStatus.INVALID_ARG));
          else {
            open.position = next;
            write(statusPacket(num, AfcStatus.SUCCESS));
          }
          break;
        }
        case AfcOp.FILE_TELL: {
          const open = hd.length >= 8 ? handles.get(hd.readBigUInt64LE(0)) : undefined;
          if (!open) write(statusPacket(num, AfcStatus.INVALID_ARG));
          else {
            const b = Buffer.alloc(8);
            b.writeBigUInt64LE(BigInt(open.position), 0);
            write(encodeAfcPacket(AfcOp.FILE_TELL_RES, num, b));
          }
          break;
        }
        case AfcOp.FILE_CLOSE: {
          const ok = hd.length >= 8 && handles.delete(hd.readBigUInt64LE(0));
          write(statusPacket(num, ok ? AfcStatus.SUCCESS : AfcStatus.INVALID_ARG));
          break;
        }
        case AfcOp.REMOVE_PATH: {
          const p = normalize(pathOf(hd));
          if (ctx.fs.files.delete(p)) {
            const parent = p.slice(0, p.lastIndexOf('/')) || '/';
            const list = ctx.fs.dirs.get(parent);
            if (list) list.splice(list.indexOf(p.slice(parent.length + 1)), 1);
            write(statusPacket(num, AfcStatus.SUCCESS));
          } else if (ctx.fs.dirs.get(p)?.length === 0) {
            ctx.fs.dirs.delete(p);
            write(statusPacket(num, AfcStatus.SUCCESS));
          } else write(statusPacket(num, ctx.fs.dirs.has(p) ? AfcStatus.UNKNOWN_ERROR : AfcStatus.OBJECT_NOT_FOUND));
          break;
        }
        default:
          write(statusPacket(num, 15 /* OP_NOT_SUPPORTED */));
      }
    }
  };
  loop().catch(() => stream.destroy());
}
