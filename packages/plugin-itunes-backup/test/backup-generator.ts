/**
 * Builds iTunes/Finder backups for tests, in the real on-disk format with real crypto: plists,
 * Manifest.db (SQLite) with NSKeyedArchiver MBFile records, a BackupKeyBag whose class keys are
 * wrapped with the PBKDF2-derived password key, an AES-encrypted Manifest.db, and AES-256-CBC
 * content files. Key wrapping uses OpenSSL's own RFC 3394 cipher (`id-aes256-wrap`), not the
 * package's implementation, so the two are checked against each other.
 */
import { createCipheriv, createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Uid, type WValue, writeBinaryPlist, writeXmlPlist } from './plist-writer.ts';

export interface GenFile {
  domain: string;
  relativePath: string;
  /** Content (regular files). */
  content?: Uint8Array;
  /** 1 file (default), 2 directory, 4 symlink. */
  flags?: 1 | 2 | 4;
  /** Unix seconds. */
  mtime?: number;
  protectionClass?: number;
  /** Class written in EncryptionKey's 4-byte prefix when it should disagree with ProtectionClass (the key stays wrapped with ProtectionClass's). */
  keyRecordClass?: number;
  /** Leave the content file out of the backup (a "missing blob"). */
  omitBlob?: boolean;
  /** Override the MBFile.Size (to simulate a record that disagrees with its content). */
  recordedSize?: number;
  /**
   * Encrypted backups: rewrite the last ciphertext block so that it decrypts to these 16 bytes (a
   * damaged end of file whose garbage can be chosen, e.g. to end in a byte that looks like padding).
   */
  lastBlockPlaintext?: Uint8Array;
}

export interface GenerateOptions {
  /** Folder of backups; the backup goes into `<root>/<udid>`. */
  root: string;
  udid: string;
  deviceName?: string;
  iosVersion?: string;
  date?: Date;
  files: GenFile[];
  encrypted?: {
    password: string;
    /** SHA-256 round iterations (real backups: 10,000,000; tests keep it small). Absent = pre-10.2 keybag. */
    dpic?: number;
    /** SHA-1 round iterations (real: 10,000). */
    iter?: number;
    /** Extra TLV appended to the key bag header (to test unknown tags). */
    extraTag?: { tag: string; value: Uint8Array };
    /**
     * iOS 10.0–10.1 layout: no ManifestKey, Manifest.db stored as plain SQLite (content files are
     * still encrypted). '10.0' also stores each `file` record as base64 text of an encrypted
     * blob, the way iOS 10.0.x did.
     */
    legacyManifest?: '10.0' | '10.1';
  };
  /** 'mbdb' writes a pre-iOS 10 backup (Manifest.mbdb, flat content files; plain only). */
  format?: 'db' | 'mbdb';
}

export interface GeneratedBackup {
  dir: string;
  /** The password-derived key (what `cacheKey` stores), hex. */
  passwordKeyHex?: string;
  fileIDs: Map<string, string>;
}

export const fileIdOf = (domain: string, relativePath: string) => createHash('sha1').update(`${domain}-${relativePath}`).digest('hex');

function wrap(kek: Uint8Array, key: Uint8Array): Buffer {
  const c = createCipheriv('id-aes256-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
  return Buffer.concat([c.update(key), c.final()]);
}

function cbcEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv('aes-256-cbc', key, Buffer.alloc(16));
  return Buffer.concat([c.update(data), c.final()]); // PKCS#7 padded, like real backups
}

/** Replaces the last CBC block so it decrypts to `plain` (CBC: P = D(C) xor previous C). */
function withLastBlock(key: Uint8Array, cipher: Buffer, plain: Uint8Array): Buffer {
  const out = Buffer.from(cipher);
  const at = out.byteLength - 16;
  const prev = at === 0 ? Buffer.alloc(16) : out.subarray(at - 16, at);
  const x = Buffer.from(plain.subarray(0, 16).map((b, i) => b ^ (prev[i] as number)));
  const ecb = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  Buffer.concat([ecb.update(x), ecb.final()]).copy(out, at);
  return out;
}

function tlv(tag: string, value: Uint8Array | number): Buffer {
  const v = typeof value === 'number' ? Buffer.from([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]) : Buffer.from(value);
  const h = Buffer.alloc(8);
  h.write(tag, 0, 'latin1');
  h.writeUInt32BE(v.byteLength, 4);
  return Buffer.concat([h, v]);
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** An NSKeyedArchiver archive of one MBFile, laid out the way real Manifest.db rows are. */
export function mbfileArchive(f: {
  relativePath: string;
  size: number;
  mode: number;
  mtime: number;
  protectionClass: number;
  encryptionKey?: Uint8Array;
  xattrs?: Record<string, Uint8Array>;
}): Uint8Array {
  const objects: WValue[] = ['$null'];
  const add = (v: WValue) => objects.push(v) - 1;
  const root: Record<string, WValue> = {};
  const rootIdx = add(root);
  root.RelativePath = new Uid(add(f.relativePath));
  root.LastModified = f.mtime;
  root.LastStatusChange = f.mtime;
  root.Birth = f.mtime - 5;
  root.InodeNumber = 123456;
  root.UserID = 501;
  root.GroupID = 501;
  root.Mode = f.mode;
  root.Size = f.size;
  root.Flags = 0;
  root.ProtectionClass = f.protectionClass;
  if (f.encryptionKey) {
    const dataClass = add({ $classname: 'NSMutableData', $classes: ['NSMutableData', 'NSData', 'NSObject'] });
    root.EncryptionKey = new Uid(add({ 'NS.data': f.encryptionKey, $class: new Uid(dataClass) }));
  }
  if (f.xattrs) root.ExtendedAttributes = new Uid(add(writeBinaryPlist(f.xattrs)));
  root.$class = new Uid(add({ $classname: 'MBFile', $classes: ['MBFile', 'NSObject'] }));
  return writeBinaryPlist({ $version: 100000, $archiver: 'NSKeyedArchiver', $top: { root: new Uid(rootIdx) }, $objects: objects });
}

export function generateBackup(opts: GenerateOptions): GeneratedBackup {
  const dir = join(opts.root, opts.udid);
  mkdirSync(dir, { recursive: true });
  const date = opts.date ?? new Date('2024-06-01T10:00:00Z');
  const enc = opts.encrypted;
  const format = opts.format ?? 'db';
  const fileIDs = new Map<string, string>();

  // Key bag: header, then one record per class 1..11 (real backup bags list them all).
  const classKeys = new Map<number, Buffer>();
  let passwordKey: Buffer | undefined;
  const salt = randomBytes(20);
  const dpsl = randomBytes(20);
  const iter = enc?.iter ?? 10;
  if (enc) {
    const round1 = enc.dpic ? pbkdf2Sync(enc.password, dpsl, enc.dpic, 32, 'sha256') : Buffer.from(enc.password, 'utf8');
    passwordKey = pbkdf2Sync(round1, salt, iter, 32, 'sha1');
  }
  const bagParts: Buffer[] = [tlv('VERS', 4), tlv('TYPE', 1), tlv('UUID', randomBytes(16)), tlv('HMCK', randomBytes(40)), tlv('WRAP', 2), tlv('SALT', salt), tlv('ITER', iter)];
  if (enc?.dpic) bagParts.push(tlv('DPWT', 1), tlv('DPIC', enc.dpic), tlv('DPSL', dpsl));
  if (enc?.extraTag) bagParts.push(tlv(enc.extraTag.tag, enc.extraTag.value));
  for (let cls = 1; cls <= 11; cls++) {
    const key = randomBytes(32);
    classKeys.set(cls, key);
    const wrapped = passwordKey ? wrap(passwordKey, key) : randomBytes(40);
    bagParts.push(tlv('UUID', randomBytes(16)), tlv('CLAS', cls), tlv('WRAP', cls === 4 ? 2 : 3), tlv('KTYP', 0), tlv('WPKY', wrapped));
  }
  const keybag = Buffer.concat(bagParts);

  const fileKeyRecord = (cls: number, key: Uint8Array) => Buffer.concat([u32le(cls), wrap(classKeys.get(cls) as Buffer, key)]);

  const lockdown = { ProductVersion: opts.iosVersion ?? '17.5', BuildVersion: '21F79', ProductType: 'iPhone14,5', UniqueDeviceID: opts.udid, SerialNumber: 'F00TESTSERIAL', DeviceName: opts.deviceName ?? 'Test iPhone' };
  const manifestPlist: Record<string, WValue> = {
    Version: format === 'db' ? '10.0' : '9.1',
    Date: date,
    SystemDomainsVersion: '24.0',
    IsEncrypted: !!enc,
    WasPasscodeSet: true,
    Lockdown: lockdown,
    Applications: {},
    BackupKeyBag: keybag,
  };
  let manifestDbKey: Buffer | undefined;
  if (enc && format === 'db' && !enc.legacyManifest) {
    manifestDbKey = randomBytes(32);
    manifestPlist.ManifestKey = fileKeyRecord(4, manifestDbKey);
  }
  writeFileSync(join(dir, 'Manifest.plist'), writeBinaryPlist(manifestPlist));
  writeFileSync(
    join(dir, 'Info.plist'),
    writeXmlPlist({
      'Build Version': '21F79',
      'Device Name': opts.deviceName ?? 'Test iPhone',
      'Display Name': opts.deviceName ?? 'Test iPhone',
      GUID: 'ABCDEF0123456789ABCDEF0123456789',
      'Last Backup Date': date,
      'Product Name': 'iPhone 13 mini',
      'Product Type': 'iPhone14,5',
      'Product Version': opts.iosVersion ?? '17.5',
      'Serial Number': 'F00TESTSERIAL',
      'Target Identifier': opts.udid.toLowerCase(),
      'Target Type': 'Device',
      'Unique Identifier': opts.udid.toUpperCase(),
      'iTunes Version': '12.13.2.3',
    }),
  );
  writeFileSync(
    join(dir, 'Status.plist'),
    writeBinaryPlist({ BackupState: 'new', Date: date, IsFullBackup: false, SnapshotState: 'finished', UUID: 'F7D6C8A2-0000-4000-8000-000000000001', Version: '3.3' }),
  );

  if (format === 'mbdb') {
    const parts: Buffer[] = [Buffer.from([0x6d, 0x62, 0x64, 0x62, 0x05, 0x00])];
    const s = (v: string | undefined) => {
      if (v === undefined) return Buffer.from([0xff, 0xff]);
      const b = Buffer.from(v, 'utf8');
      const h = Buffer.alloc(2);
      h.writeUInt16BE(b.byteLength);
      return Buffer.concat([h, b]);
    };
    for (const f of opts.files) {
      const flags = f.flags ?? 1;
      const id = fileIdOf(f.domain, f.relativePath);
      fileIDs.set(f.relativePath, id);
      const mode = flags === 1 ? 0o100644 : flags === 2 ? 0o40755 : 0o120755;
      const fixed = Buffer.alloc(2 + 8 + 4 + 4 + 4 + 4 + 4 + 8 + 1 + 1);
      let p = 0;
      fixed.writeUInt16BE(mode, p);
      p += 2;
      fixed.writeBigUInt64BE(99n, p);
      p += 8;
      fixed.writeUInt32BE(501, p);
      fixed.writeUInt32BE(501, p + 4);
      p += 8;
      const mtime = f.mtime ?? 1_700_000_000;
      fixed.writeUInt32BE(mtime, p);
      fixed.writeUInt32BE(mtime, p + 4);
      fixed.writeUInt32BE(mtime, p + 8);
      p += 12;
      fixed.writeBigUInt64BE(BigInt(f.recordedSize ?? f.content?.byteLength ?? 0), p);
      p += 8;
      fixed[p] = f.protectionClass ?? 3;
      fixed[p + 1] = 0;
      parts.push(s(f.domain), s(f.relativePath), s(flags === 4 ? '/private/var/target' : undefined), s(''), s(undefined), fixed);
      if (flags === 1 && f.content && !f.omitBlob) writeFileSync(join(dir, id), f.content);
    }
    writeFileSync(join(dir, 'Manifest.mbdb'), Buffer.concat(parts));
    return { dir, fileIDs, ...(passwordKey ? { passwordKeyHex: passwordKey.toString('hex') } : {}) };
  }

  const dbPath = join(opts.root, `.${opts.udid}-Manifest.db.tmp`);
  const db = new DatabaseSync(dbPath);
  db.exec(`CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);
    CREATE INDEX FilesDomainIdx ON Files(domain);
    CREATE INDEX FilesRelativePathIdx ON Files(relativePath);
    CREATE INDEX FilesFlagsIdx ON Files(flags);
    CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);`);
  const insert = db.prepare('INSERT INTO Files VALUES (?, ?, ?, ?, ?)');
  for (const f of opts.files) {
    const flags = f.flags ?? 1;
    const id = fileIdOf(f.domain, f.relativePath);
    fileIDs.set(f.relativePath, id);
    const cls = flags === 1 ? (f.protectionClass ?? 3) : 0;
    const content = f.content ?? new Uint8Array(0);
    let encryptionKey: Buffer | undefined;
    let stored: Uint8Array = content;
    if (enc && flags === 1) {
      const fileKey = randomBytes(32);
      encryptionKey = fileKeyRecord(cls, fileKey);
      if (f.keyRecordClass !== undefined) encryptionKey.writeUInt32LE(f.keyRecordClass, 0);
      const cipher = cbcEncrypt(fileKey, content);
      stored = f.lastBlockPlaintext ? withLastBlock(fileKey, cipher, f.lastBlockPlaintext) : cipher;
    }
    const blob = mbfileArchive({
      relativePath: f.relativePath,
      size: flags === 1 ? (f.recordedSize ?? content.byteLength) : 0,
      mode: flags === 1 ? 0o100644 : flags === 2 ? 0o40755 : 0o120755,
      mtime: f.mtime ?? 1_700_000_000,
      protectionClass: cls,
      ...(encryptionKey ? { encryptionKey } : {}),
      ...(flags === 1 && f.domain === 'CameraRollDomain' ? { xattrs: { 'com.apple.assetsd.UUID': Buffer.from(randomBytes(16).toString('hex')) } } : {}),
    });
    insert.run(id, f.domain, f.relativePath, flags, enc?.legacyManifest === '10.0' ? cbcEncrypt(randomBytes(32), blob).toString('base64') : blob);
    if (flags === 1 && !f.omitBlob) {
      mkdirSync(join(dir, id.slice(0, 2)), { recursive: true });
      writeFileSync(join(dir, id.slice(0, 2), id), stored);
    }
  }
  db.close();
  const plainDb = readFileSync(dbPath);
  rmSync(dbPath);
  writeFileSync(join(dir, 'Manifest.db'), manifestDbKey ? cbcEncrypt(manifestDbKey, plainDb) : plainDb);
  return { dir, fileIDs, ...(passwordKey ? { passwordKeyHex: passwordKey.toString('hex') } : {}) };
}
