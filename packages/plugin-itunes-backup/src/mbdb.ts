import { createHash } from 'node:crypto';

/** One record of a pre-iOS 10 `Manifest.mbdb`. */
export interface MbdbRecord {
  domain: string;
  path: string;
  linkTarget: string | undefined;
  /** Raw EncryptionKey slot (encrypted backups only). */
  encryptionKey: Uint8Array | undefined;
  mode: number;
  mtime: number;
  ctime: number;
  size: number;
  protectionClass: number;
  /** SHA-1 hex of `domain-path`: the content file's name, flat in the backup folder. */
  fileID: string;
  properties: Map<string, Uint8Array>;
}

export class MbdbFormatError extends Error {
  override readonly name = 'MbdbFormatError';
}

const MAGIC = Buffer.from([0x6d, 0x62, 0x64, 0x62, 0x05, 0x00]); // "mbdb" 5 0

/** Parses `Manifest.mbdb` (big-endian records, u16-length strings with 0xFFFF = absent). */
export function parseMbdb(bytes: Uint8Array): MbdbRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < 6 || !buf.subarray(0, 6).equals(MAGIC)) throw new MbdbFormatError('missing "mbdb\\x05\\x00" header');
  let pos = 6;
  const need = (n: number) => {
    if (pos + n > buf.byteLength) throw new MbdbFormatError(`record truncated at byte ${pos}`);
  };
  const raw = (): Buffer | undefined => {
    need(2);
    const len = buf.readUInt16BE(pos);
    pos += 2;
    if (len === 0xffff) return undefined;
    need(len);
    const v = buf.subarray(pos, pos + len);
    pos += len;
    return v;
  };
  const str = () => raw()?.toString('utf8');
  const records: MbdbRecord[] = [];
  while (pos < buf.byteLength) {
    const domain = str() ?? '';
    const path = str() ?? '';
    const linkTarget = str();
    raw(); // data hash
    const key = raw();
    need(2 + 8 + 4 + 4 + 4 + 4 + 4 + 8 + 1 + 1);
    const mode = buf.readUInt16BE(pos);
    pos += 2 + 8 + 4 + 4; // mode, inode, uid, gid
    const mtime = buf.readUInt32BE(pos);
    const ctime = buf.readUInt32BE(pos + 8);
    pos += 12;
    const size = Number(buf.readBigUInt64BE(pos));
    pos += 8;
    const protectionClass = buf[pos] as number;
    const propertyCount = buf[pos + 1] as number;
    pos += 2;
    const properties = new Map<string, Uint8Array>();
    for (let i = 0; i < propertyCount; i++) {
      const name = str() ?? '';
      properties.set(name, new Uint8Array(raw() ?? new Uint8Array(0)));
    }
    records.push({
      domain,
      path,
      linkTarget,
      encryptionKey: key && key.byteLength > 0 ? new Uint8Array(key) : undefined,
      mode,
      mtime,
      ctime,
      size,
      protectionClass,
      fileID: backupFileID(domain, path),
      properties,
    });
  }
  return records;
}

/** The name a backup stores a file under: SHA-1 hex of `domain-relativePath`. */
export function backupFileID(domain: string, relativePath: string): string {
  return createHash('sha1').update(`${domain}-${relativePath}`, 'utf8').digest('hex');
}

/** POSIX mode type bits. */
export function isRegularFileMode(mode: number): boolean {
  return (mode & 0xf000) === 0x8000;
}
