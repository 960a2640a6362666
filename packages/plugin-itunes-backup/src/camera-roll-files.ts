import { KeepsakeError, mediaTypeOf } from '@keepsake/core';
import type { CameraRollFile } from '@keepsake/media';
import type { BackupInfo } from './backup-info.js';
import { backupError } from './errors.js';
import type { ManifestDb } from './manifest-db.js';
import { decodeMBFile } from './mbfile.js';
import { backupFileID, isRegularFileMode, parseMbdb } from './mbdb.js';

export const CAMERA_ROLL_DOMAIN = 'CameraRollDomain';
/** Originals live under Media/DCIM/<nnnAPPLE>/ (thumbnails, edits and Photos.sqlite live elsewhere). */
export const DCIM_PREFIX = 'Media/DCIM/';

/** One camera-roll file recorded in the backup. */
export interface BackupMediaFile extends CameraRollFile {
  /** Path relative to Media/DCIM (`100APPLE/IMG_0001.HEIC`), what grouping works on. */
  path: string;
  fileID: string;
  relativePath: string;
  /** Where the content lives inside the backup folder. */
  contentPath: string;
  protectionClass: number;
  /** u32le class + wrapped key (encrypted backups). */
  encryptionKey: Uint8Array | undefined;
  mediaType: string;
}

export interface RejectedRecord {
  relativePath: string;
  error: KeepsakeError;
}

const FILE_ID = /^[0-9a-f]{40}$/;

/** `.MISC/Incoming` and other hidden entries are the Photos app's bookkeeping, not photos. */
const isHidden = (dcimPath: string) => dcimPath.split('/').some((s) => s.startsWith('.'));

/**
 * Refuses paths that could escape a destination or do not belong to DCIM: `..` segments,
 * absolute paths, backslashes, NUL, empty segments. Returns the reason, or undefined when safe.
 */
export function unsafePathReason(relativePath: string): string | undefined {
  if (relativePath.startsWith('/') || /^[A-Za-z]:/.test(relativePath)) return 'it is absolute';
  if (relativePath.includes('\\')) return 'it contains a backslash';
  if (relativePath.includes('\0')) return 'it contains a NUL byte';
  const segments = relativePath.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return 'it contains "." or ".." segments';
  if (segments.some((s) => s === '')) return 'it contains an empty segment';
  return undefined;
}

function rejected(relativePath: string, why: string, location: string): RejectedRecord {
  return {
    relativePath,
    error: backupError('BACKUP_PATH_UNSAFE', `Backup record ${JSON.stringify(relativePath)} was skipped: ${why}`, {
      location,
      resource: relativePath,
      hint: 'A real backup never holds such a path; this backup was altered or damaged. The other items are read normally.',
    }),
  };
}

/** Camera-roll originals from Manifest.db (iOS 10+). Bad rows are returned in `rejected`, never thrown. */
export function listFromManifestDb(info: BackupInfo, db: ManifestDb): { files: BackupMediaFile[]; rejected: RejectedRecord[] } {
  const files: BackupMediaFile[] = [];
  const bad: RejectedRecord[] = [];
  // The whole domain is checked, so a tampered path such as "/Media/DCIM/x" is reported, not skipped quietly.
  for (const row of db.rows(CAMERA_ROLL_DOMAIN, '')) {
    if (row.flags !== 1) continue;
    const why = unsafePathReason(row.relativePath);
    if (why) {
      bad.push(rejected(row.relativePath, why, db.location));
      continue;
    }
    if (!row.relativePath.startsWith(DCIM_PREFIX)) continue;
    if (!FILE_ID.test(row.fileID)) {
      bad.push(rejected(row.relativePath, `its fileID ${JSON.stringify(row.fileID.slice(0, 60))} is not 40 hex digits`, db.location));
      continue;
    }
    if (!row.file) {
      bad.push({ relativePath: row.relativePath, error: recordInvalid(row.relativePath, 'it has no file record', db.location) });
      continue;
    }
    let mb: ReturnType<typeof decodeMBFile>;
    try {
      mb = decodeMBFile(row.file);
    } catch (err) {
      if (isPasswordEncryptedRecord(row.file)) {
        throw new KeepsakeError('NOT_SUPPORTED', `This encrypted backup is from iOS 10.0 (${info.iosVersion ?? 'version unknown'}), whose Manifest.db file records are themselves encrypted; keepsake cannot read them: ${info.dir}`, {
          location: db.location,
          classification: 'fatal',
          hint: 'Update the iPhone (iOS 10.2 or later) and make a new backup, or make an unencrypted backup.',
        });
      }
      bad.push({ relativePath: row.relativePath, error: recordInvalid(row.relativePath, (err as Error).message, db.location) });
      continue;
    }
    const path = row.relativePath.slice(DCIM_PREFIX.length);
    if (isHidden(path)) continue;
    const name = path.slice(path.lastIndexOf('/') + 1);
    files.push({
      path,
      name,
      size: mb.size,
      mtimeMs: (mb.lastModified ?? mb.birth ?? 0) * 1000,
      fileID: row.fileID,
      relativePath: row.relativePath,
      contentPath: `${info.dir}/${row.fileID.slice(0, 2)}/${row.fileID}`,
      protectionClass: mb.protectionClass,
      encryptionKey: mb.encryptionKey,
      mediaType: mediaTypeOf(name),
    });
  }
  return { files, rejected: bad };
}

/** Camera-roll originals from Manifest.mbdb (before iOS 10): content files sit flat, named by fileID. */
export function listFromMbdb(info: BackupInfo, bytes: Uint8Array): { files: BackupMediaFile[]; rejected: RejectedRecord[] } {
  const files: BackupMediaFile[] = [];
  const bad: RejectedRecord[] = [];
  const location = `${info.dir}/Manifest.mbdb`;
  for (const rec of parseMbdb(bytes)) {
    if (rec.domain !== CAMERA_ROLL_DOMAIN || !isRegularFileMode(rec.mode)) continue;
    const why = unsafePathReason(rec.path);
    if (why) {
      bad.push(rejected(rec.path, why, location));
      continue;
    }
    if (!rec.path.startsWith(DCIM_PREFIX)) continue;
    const path = rec.path.slice(DCIM_PREFIX.length);
    if (isHidden(path)) continue;
    const name = path.slice(path.lastIndexOf('/') + 1);
    const fileID = backupFileID(rec.domain, rec.path);
    files.push({
      path,
      name,
      size: rec.size,
      mtimeMs: rec.mtime * 1000,
      fileID,
      relativePath: rec.path,
      contentPath: `${info.dir}/${fileID}`,
      protectionClass: rec.protectionClass,
      encryptionKey: rec.encryptionKey,
      mediaType: mediaTypeOf(name),
    });
  }
  return { files, rejected: bad };
}

/**
 * iOS 10.0.x wrote each `file` record as base64 text of an AES-encrypted plist (keyed from the
 * password and a salt in the Properties table) instead of an NSKeyedArchiver bplist.
 */
function isPasswordEncryptedRecord(blob: Uint8Array): boolean {
  if (blob.byteLength < 24 || blob.byteLength % 4 !== 0) return false;
  const text = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('latin1');
  return !text.startsWith('bplist') && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}

function recordInvalid(relativePath: string, why: string, location: string): KeepsakeError {
  return backupError('BACKUP_RECORD_INVALID', `Backup record for ${relativePath} cannot be decoded: ${why}`, {
    location,
    resource: relativePath,
    hint: 'The backup is damaged; this item is skipped, the others are read normally.',
  });
}
