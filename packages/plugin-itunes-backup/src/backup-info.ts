import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BackupError, backupError } from './errors.js';
import { readPlistFile } from './plist.js';
import { isPlistDict, type PlistDict, type PlistValue } from './plist-value.js';

/** What the plists of one backup folder say about it. */
export interface BackupInfo {
  /** The backup folder (holds Manifest.plist). */
  dir: string;
  udid: string;
  deviceName: string | undefined;
  productType: string | undefined;
  /** iOS version. */
  iosVersion: string | undefined;
  /** When the backup was made (Status.plist / Manifest.plist / Info.plist date), ISO 8601. */
  date: string | undefined;
  encrypted: boolean;
  /** `db` = Manifest.db (iOS 10+), `mbdb` = Manifest.mbdb (older). */
  format: 'db' | 'mbdb';
  /** Status.plist says the snapshot finished; false for interrupted backups. */
  complete: boolean | undefined;
  /** Manifest.plist `BackupKeyBag`. */
  keybag: Uint8Array | undefined;
  /** Manifest.plist `ManifestKey` (encrypted iOS 10+ backups). */
  manifestKey: Uint8Array | undefined;
}

const str = (d: PlistDict | undefined, k: string) => (typeof d?.[k] === 'string' ? (d[k] as string) : undefined);
const date = (v: PlistValue | undefined) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : undefined);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function optionalDict(path: string): Promise<PlistDict | undefined> {
  if (!(await exists(path))) return undefined;
  const v = await readPlistFile(path);
  if (!isPlistDict(v)) throw BackupError.plistInvalid(path, 'the top level is not a dictionary');
  return v;
}

/** The folder holds a Manifest.plist (whether or not its file list is there). */
export async function isBackupFolder(dir: string): Promise<boolean> {
  return exists(join(dir, 'Manifest.plist'));
}

export async function isBackupDir(dir: string): Promise<boolean> {
  return (await exists(join(dir, 'Manifest.plist'))) && ((await exists(join(dir, 'Manifest.db'))) || (await exists(join(dir, 'Manifest.mbdb'))));
}

/** Reads Info.plist, Manifest.plist and Status.plist of one backup folder. */
export async function readBackupInfo(dir: string): Promise<BackupInfo> {
  const manifest = await optionalDict(join(dir, 'Manifest.plist'));
  if (!manifest) {
    throw backupError('BACKUP_NOT_FOUND', `${dir} is not an iPhone backup (no Manifest.plist)`, {
      location: dir,
      classification: 'fatal',
      hint: 'Point `path` at a backup folder (one that holds Manifest.plist) or at the folder that holds them.',
    });
  }
  const info = await optionalDict(join(dir, 'Info.plist'));
  const status = await optionalDict(join(dir, 'Status.plist'));
  const lockdown = isPlistDict(manifest.Lockdown) ? manifest.Lockdown : undefined;
  const encrypted = manifest.IsEncrypted === true;
  const keybag = manifest.BackupKeyBag instanceof Uint8Array ? manifest.BackupKeyBag : undefined;
  const manifestKey = manifest.ManifestKey instanceof Uint8Array ? manifest.ManifestKey : undefined;
  // Neither file (a partly copied backup): 'db', so reading it reports the missing Manifest.db.
  const format = !(await exists(join(dir, 'Manifest.db'))) && (await exists(join(dir, 'Manifest.mbdb'))) ? 'mbdb' : 'db';
  const snapshot = str(status, 'SnapshotState');
  return {
    dir,
    udid: (str(lockdown, 'UniqueDeviceID') ?? str(info, 'Target Identifier') ?? str(info, 'Unique Identifier') ?? basename(dir)).toLowerCase(),
    deviceName: str(info, 'Device Name') ?? str(info, 'Display Name') ?? str(lockdown, 'DeviceName'),
    productType: str(info, 'Product Type') ?? str(lockdown, 'ProductType'),
    iosVersion: str(info, 'Product Version') ?? str(lockdown, 'ProductVersion'),
    date: date(status?.Date) ?? date(manifest.Date) ?? date(info?.['Last Backup Date']),
    encrypted,
    format,
    complete: snapshot === undefined ? undefined : snapshot === 'finished',
    keybag,
    manifestKey,
  };
}

/**
 * Backups under `path`: the folder itself if it is a backup, else its direct sub-folders that are.
 * Folders that cannot be read are skipped and reported through `onSkip`.
 */
export async function findBackups(roots: string[], onSkip?: (dir: string, err: unknown) => void): Promise<BackupInfo[]> {
  const out: BackupInfo[] = [];
  for (const root of roots) {
    if (await isBackupDir(root)) {
      out.push(await readBackupInfo(root));
      continue;
    }
    let entries: string[];
    try {
      entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (err) {
      // A standard folder that does not exist just means no backups there.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onSkip?.(root, err);
      continue;
    }
    for (const name of entries.sort()) {
      const dir = join(root, name);
      if (!(await isBackupDir(dir))) continue;
      try {
        out.push(await readBackupInfo(dir));
      } catch (err) {
        onSkip?.(dir, err);
      }
    }
  }
  return out;
}

/** Picks the backup to read: the one of `udid`, else the only one; newest first among copies of one device. */
export function selectBackup(backups: BackupInfo[], udid: string | undefined, searched: string[], denied = false): BackupInfo {
  const wanted = udid?.toLowerCase();
  const matches = wanted ? backups.filter((b) => b.udid === wanted || basename(b.dir).toLowerCase().startsWith(wanted)) : backups;
  if (matches.length === 0) {
    throw backupError('BACKUP_NOT_FOUND', udid ? `No backup of device ${udid} found` : 'No iPhone backup found', {
      location: searched.join(', ') || '(no standard backup folder on this OS)',
      classification: 'fatal',
      hint: denied
        ? 'A backup folder could not be read (permission denied). On macOS give your terminal Full Disk Access (System Settings → Privacy & Security), then run again.'
        : 'Run `keepsake backups` to see what is there, or set option `path` to a backup folder.',
    });
  }
  const devices = new Set(matches.map((b) => b.udid));
  if (devices.size > 1) {
    const list = matches.map((b) => `${b.udid} (${b.deviceName ?? 'unnamed'}, ${b.date ?? 'no date'})`).join('; ');
    throw backupError('BACKUP_AMBIGUOUS', `Backups of ${devices.size} devices found: ${list}`, {
      location: searched.join(', '),
      classification: 'fatal',
      hint: 'Set option `udid` to the device to read (see `keepsake backups`).',
    });
  }
  return [...matches].sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''))[0] as BackupInfo;
}
