import type { Logger, SecretStore } from '@keepsake/core';
import { aesKeyUnwrap } from './aes-key-wrap.js';
import type { BackupInfo } from './backup-info.js';
import { BackupError, backupError } from './errors.js';
import { derivePasswordKey, unlockClassKeys } from './key-derivation.js';
import { type Keybag, parseKeybag } from './keybag.js';

/** Unlocked keys of an encrypted backup. */
export interface BackupKeys {
  classKeys: Map<number, Uint8Array>;
  /** Key of Manifest.db (iOS 10.2+ backups; earlier ones store Manifest.db unencrypted). */
  manifestDbKey: Uint8Array | undefined;
}

export interface UnlockOptions {
  /** Asked only when no cached key works: the derivation is the slow part. */
  getPassword(): Promise<string | undefined>;
  /** Store for the derived key when the user opted in (`cacheKey: true`). */
  cache?: SecretStore | undefined;
  logger?: Logger | undefined;
}

/** Secret-store name of a backup's derived key: per device and key bag, so a new password misses. */
export function keyCacheName(info: BackupInfo, keybag: Keybag): string {
  const bag = keybag.uuid ? Buffer.from(keybag.uuid).toString('hex') : 'nouuid';
  return `itunes-backup:derived-key:${info.udid}:${bag}`;
}

/**
 * Unlocks an encrypted backup: key bag → (cached or freshly derived) password key → class keys →
 * Manifest.db key. A password that fails the RFC 3394 integrity check throws BACKUP_PASSWORD_WRONG
 * before anything is read or written.
 */
export async function unlockBackup(info: BackupInfo, options: UnlockOptions): Promise<BackupKeys> {
  if (!info.keybag) throw BackupError.keybagInvalid(info.dir, 'Manifest.plist has no BackupKeyBag');
  const keybag = parseKeybag(info.keybag, `${info.dir}/Manifest.plist`);
  const cacheName = keyCacheName(info, keybag);

  let classKeys: Map<number, Uint8Array> | undefined;
  if (options.cache) {
    const cached = await options.cache.get(cacheName);
    if (cached && /^[0-9a-f]{64}$/i.test(cached)) {
      classKeys = unlockClassKeys(keybag, Buffer.from(cached, 'hex'));
      if (classKeys) options.logger?.debug('using the cached backup key', { udid: info.udid });
      else await options.cache.delete(cacheName);
    }
  }
  if (!classKeys) {
    const password = await options.getPassword();
    if (password === undefined) throw BackupError.passwordRequired(info.dir);
    options.logger?.info('deriving the backup key from the password (takes a few seconds)', { udid: info.udid });
    const passwordKey = await derivePasswordKey(password, keybag);
    classKeys = unlockClassKeys(keybag, passwordKey);
    if (!classKeys) throw BackupError.passwordWrong(info.dir);
    if (options.cache) await options.cache.set(cacheName, Buffer.from(passwordKey).toString('hex'));
  }

  // Backups from before iOS 10.2 have no ManifestKey: their Manifest.db is stored unencrypted
  // (the caller checks that it really is plain SQLite).
  let manifestDbKey: Uint8Array | undefined;
  if (info.format === 'db' && info.manifestKey) {
    manifestDbKey = unwrapFileKey(classKeys, info.manifestKey, `${info.dir}/Manifest.plist ManifestKey`);
  }
  return { classKeys, manifestDbKey };
}

/**
 * Unwraps a per-file key record: u32le protection class + 40-byte RFC 3394-wrapped key (the
 * layout of ManifestKey and of MBFile.EncryptionKey). `recordedClass` is MBFile.ProtectionClass:
 * the reference tools (iphone_backup_decrypt, mvt, iOSbackup) unwrap with that class and ignore
 * the prefix, so when the prefix's class has no key or does not unwrap, that class is tried too.
 * RFC 3394's integrity check makes a wrong class key fail instead of giving a wrong key.
 */
export function unwrapFileKey(classKeys: Map<number, Uint8Array>, record: Uint8Array, what: string, recordedClass?: number): Uint8Array {
  if (record.byteLength !== 44) {
    throw backupError('BACKUP_RECORD_INVALID', `${what}: key record is ${record.byteLength} bytes, expected 44`, { location: what });
  }
  const cls = Buffer.from(record.buffer, record.byteOffset, 4).readUInt32LE(0);
  const classes = recordedClass !== undefined && recordedClass !== cls ? [cls, recordedClass] : [cls];
  const withKey = classes.filter((c) => classKeys.has(c));
  if (withKey.length === 0) {
    throw backupError('BACKUP_RECORD_INVALID', `${what}: protection class ${classes.join(' / ')} has no key in the key bag`, {
      location: what,
      hint: 'The backup is damaged or from an unsupported iOS version.',
    });
  }
  for (const c of withKey) {
    const key = aesKeyUnwrap(classKeys.get(c) as Uint8Array, record.subarray(4));
    if (key) return key;
  }
  throw backupError('BACKUP_RECORD_INVALID', `${what}: its key does not unwrap with the class key (damaged record)`, {
    location: what,
    hint: 'The backup is damaged; make a new backup.',
  });
}
