import { readFile, stat } from 'node:fs/promises';
import {
  type Asset,
  type Diagnostic,
  type FactoryContext,
  isKeepsakeError,
  KeepsakeError,
  type Resource,
  resolveUserPath,
  type ScanContext,
  type Source,
  throwIfAborted,
} from '@keepsake/core';
import { captureDateFrom, groupCameraRoll, livePhotoCaptureDate, type MediaInfo, readMediaInfo } from '@keepsake/media';
import { type BackupInfo, findBackups, isBackupFolder, readBackupInfo, selectBackup } from './backup-info.js';
import { type BackupKeys, unlockBackup, unwrapFileKey } from './backup-keys.js';
import { defaultBackupRoots } from './backup-locations.js';
import { type BackupMediaFile, listFromManifestDb, listFromMbdb, type RejectedRecord } from './camera-roll-files.js';
import { openContent, paddedPlaintextLength } from './content-stream.js';
import { openContentRandomAccess } from './content-random-access.js';
import { BackupError, backupError } from './errors.js';
import { isPlainSqlite, ManifestDb } from './manifest-db.js';
import { resolvePassword } from './password.js';

/** Options of the `itunes-backup` source (validated by the host against the manifest schema). */
export interface ItunesBackupOptions {
  path?: string;
  udid?: string;
  passwordFile?: string;
  cacheKey?: boolean;
}

/** Terminal for the password prompt; the CLI's stdin/stderr when interactive. */
export interface PromptTerminal {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
}

const DIAG = 'itunes-backup';
const GUESSED_DATE = new Set(['filename', 'mtime', 'unknown']);

/** Where to look: `path` (resolved from the config folder) or the OS's standard backup folders. */
export function backupSearchRoots(options: ItunesBackupOptions, ctx: Pick<FactoryContext, 'configDir' | 'env'>): string[] {
  return options.path ? [resolveUserPath(ctx.configDir, options.path)] : defaultBackupRoots(ctx.env);
}

/**
 * The `itunes-backup` source. Finds and describes the backup when created (cheap: three plists);
 * the password, key derivation and Manifest.db are handled at the start of `scan`, once per
 * instance. Read-only: nothing is ever written into the backup folder.
 */
export async function createItunesBackupSource(options: ItunesBackupOptions, ctx: FactoryContext, terminal?: PromptTerminal): Promise<Source> {
  const roots = backupSearchRoots(options, ctx);
  let info: BackupInfo;
  // `path` naming one backup folder: read it even when its Manifest.db is missing, so that is what the error says.
  if (options.path && (await isBackupFolder(roots[0] as string))) info = await readBackupInfo(roots[0] as string);
  else {
    let denied = false;
    const found = await findBackups(roots, (dir, err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPERM' || code === 'EACCES') denied = true;
      ctx.logger.warn(`skipping ${dir}`, { error: isKeepsakeError(err) ? err.describe() : String(err) });
    });
    info = selectBackup(found, options.udid, roots, denied);
  }
  if (options.udid && info.udid !== options.udid.toLowerCase()) {
    throw backupError('BACKUP_NOT_FOUND', `The backup at ${info.dir} is of device ${info.udid}, not ${options.udid}`, {
      location: info.dir,
      classification: 'fatal',
      hint: 'Fix option `udid` or `path` (see `keepsake backups`).',
    });
  }
  const tty = terminal ?? (process.stdin.isTTY ? { input: process.stdin, output: process.stderr } : undefined);
  return new ItunesBackupSource(info, options, ctx, tty);
}

class ItunesBackupSource implements Source {
  readonly key: string;
  readonly capabilities = {
    expensiveReads: false,
    canDelete: false,
    deleteNote:
      'keepsake never writes to an iTunes/Finder backup (a changed backup may no longer restore). Delete these photos on the iPhone itself (Photos → Select → Delete, kept 30 days in Recently Deleted); the next backup will not have them.',
  } as const;
  private keys: Promise<BackupKeys | undefined> | undefined;

  constructor(
    readonly info: BackupInfo,
    private readonly options: ItunesBackupOptions,
    private readonly ctx: FactoryContext,
    private readonly tty: PromptTerminal | undefined,
  ) {
    this.key = `itunes-backup:${info.udid}`;
  }

  /** The expensive derivation runs once per instance, however often scan is called. */
  private unlock(): Promise<BackupKeys | undefined> {
    if (!this.info.encrypted) return Promise.resolve(undefined);
    this.keys ??= unlockBackup(this.info, {
      getPassword: () =>
        resolvePassword({ passwordFile: this.options.passwordFile, baseDir: this.ctx.configDir, env: this.ctx.env, tty: this.tty, label: `${this.info.deviceName ?? this.info.udid} (${this.info.dir})` }),
      cache: this.options.cacheKey ? this.ctx.secrets : undefined,
      logger: this.ctx.logger,
    });
    // A failed unlock (wrong password) is not cached, so a second attempt asks again.
    this.keys.catch(() => {
      this.keys = undefined;
    });
    return this.keys;
  }

  private async listFiles(keys: BackupKeys | undefined): Promise<{ files: BackupMediaFile[]; rejected: RejectedRecord[] }> {
    if (this.info.format === 'mbdb') {
      if (this.info.encrypted) {
        throw new KeepsakeError('NOT_SUPPORTED', `Encrypted backups from before iOS 10 (Manifest.mbdb) can be listed but not read yet: ${this.info.dir}`, {
          location: this.info.dir,
          classification: 'fatal',
          hint: 'Turn off "Encrypt local backup" and back up again, or use a newer backup.',
        });
      }
      return listFromMbdb(this.info, await readFile(`${this.info.dir}/Manifest.mbdb`));
    }
    const dbPath = `${this.info.dir}/Manifest.db`;
    if (keys && !keys.manifestDbKey && !(await isPlainSqlite(dbPath).catch(() => true))) {
      throw BackupError.keybagInvalid(this.info.dir, 'Manifest.plist of an encrypted backup has no ManifestKey, and Manifest.db is encrypted (only iOS 10.0–10.1 backups store it unencrypted)');
    }
    const db = await ManifestDb.open(dbPath, keys?.manifestDbKey);
    try {
      return listFromManifestDb(this.info, db);
    } finally {
      await db.close();
    }
  }

  async *scan(ctx: ScanContext): AsyncIterable<Asset> {
    throwIfAborted(ctx.signal);
    if (this.info.complete === false) ctx.logger.warn('Status.plist says this backup did not finish; some files may be missing', { dir: this.info.dir });
    const keys = await this.unlock();
    throwIfAborted(ctx.signal);
    const { files, rejected } = await this.listFiles(keys);
    for (const r of rejected) ctx.logger.error(r.error.describe(), { code: r.error.code });
    const groups = groupCameraRoll(files);
    ctx.reportTotals({ assets: groups.length, bytes: files.reduce((n, f) => n + f.size, 0) });

    for (const group of groups) {
      throwIfAborted(ctx.signal);
      const diagnostics: Diagnostic[] = [...group.diagnostics];
      const resources: Resource[] = [];
      const fileKeys = new Map<Resource, { file: BackupMediaFile; key: Uint8Array | undefined }>();
      for (const { file, role } of group.members) {
        const checked = await this.checkContent(file, keys);
        if (checked instanceof KeepsakeError) {
          diagnostics.push({ level: 'error', source: `${DIAG}:${checked.code === 'BACKUP_FILE_MISSING' ? 'file-missing' : 'file-unreadable'}`, message: checked.describe() });
          continue;
        }
        const { key: fileKey, size } = checked;
        if (size !== file.size) {
          diagnostics.push({
            level: 'warning',
            source: `${DIAG}:size-mismatch`,
            message: `${file.relativePath}: Manifest.db records ${file.size} bytes but the backup stored ${size}; all ${size} are read (the file probably changed while the backup ran)`,
          });
        }
        const label = `${this.info.udid}:${file.relativePath}`;
        const resource: Resource = {
          role,
          name: file.name,
          key: file.fileID,
          size,
          mtimeMs: file.mtimeMs,
          mediaType: file.mediaType,
          open: (o = {}) => openContent({ path: file.contentPath, size, key: fileKey, offset: o.offset ?? 0, signal: o.signal, label }),
        };
        resources.push(resource);
        fileKeys.set(resource, { file: size === file.size ? file : { ...file, size }, key: fileKey });
      }
      const asset: Asset = { id: `${group.folder}/${group.stem}`, kind: group.kind, resources, diagnostics };
      const primary = resources.find((r) => r.role === 'original') ?? resources[0];
      if (primary) {
        const { file, key } = fileKeys.get(primary) as { file: BackupMediaFile; key: Uint8Array | undefined };
        const info = await this.readInfo(file, key, diagnostics);
        let capturedAt = captureDateFrom(info, { name: file.name, mtimeMs: file.mtimeMs });
        let contentIdentifier = info?.contentIdentifier;
        const motion = resources.find((r) => r.role === 'motion');
        // A filename or mtime date is a guess; a metadata date without an offset is incomplete.
        const dateComplete = !!capturedAt?.offset && !GUESSED_DATE.has(capturedAt.source);
        if (motion && (!dateComplete || !contentIdentifier)) {
          // Same capture: the Live Photo's video supplies a missing date, UTC offset or identifier.
          const m = fileKeys.get(motion) as { file: BackupMediaFile; key: Uint8Array | undefined };
          const motionInfo = await this.readInfo(m.file, m.key, diagnostics);
          if (!dateComplete) capturedAt = livePhotoCaptureDate(capturedAt, captureDateFrom(motionInfo, { name: m.file.name, mtimeMs: m.file.mtimeMs }));
          contentIdentifier ??= motionInfo?.contentIdentifier;
        }
        if (capturedAt) asset.capturedAt = capturedAt;
        if (contentIdentifier) asset.contentIdentifier = contentIdentifier;
      }
      yield asset;
    }
  }

  /**
   * Checks the content file is there and long enough; returns the file key (undefined for plain
   * backups) and the plaintext size to read, or the per-item error. Manifest.db's Size is sometimes
   * smaller than what was stored (the file changed while the backup ran); then the stored length
   * (plain) or the PKCS#7 padding (encrypted) is what counts, since cutting at Size would drop real
   * bytes. One rule for encrypted files: the padding must check out, and where the ciphertext is
   * exactly as long as Size encrypts to, it must also give Size — a pad that disagrees there is far
   * likelier a damaged last block (random bytes end in 0x01 one time in 256) than a file that
   * changed by less than a block. Anything else is BACKUP_FILE_CORRUPT, never a guess at the length:
   * falling back to Size would pass a damaged last block off as photo bytes, or silently drop the
   * bytes a longer stored file holds. A file shorter than Size stays an error: a partly copied
   * backup looks the same.
   */
  private async checkContent(file: BackupMediaFile, keys: BackupKeys | undefined): Promise<{ key: Uint8Array | undefined; size: number } | KeepsakeError> {
    let fileKey: Uint8Array | undefined;
    if (keys && file.size > 0) {
      if (!file.encryptionKey) {
        return backupError('BACKUP_RECORD_INVALID', `Backup record for ${file.relativePath} has no encryption key`, { location: file.contentPath, resource: file.name });
      }
      try {
        fileKey = unwrapFileKey(keys.classKeys, file.encryptionKey, file.relativePath, file.protectionClass);
      } catch (err) {
        if (isKeepsakeError(err)) return err as KeepsakeError;
        throw err;
      }
    }
    if (file.size === 0) return { key: fileKey, size: 0 };
    const st = await stat(file.contentPath).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      return backupError('BACKUP_FILE_MISSING', `Backup has no content file for ${file.relativePath}`, {
        location: file.contentPath,
        resource: file.name,
        cause: st,
        hint: 'The backup is incomplete (interrupted, or copied partly). The other items are read normally; make a new backup to recover this one.',
      });
    }
    const corrupt = (why: string) =>
      backupError('BACKUP_FILE_CORRUPT', `Backup content file for ${file.relativePath} (${st.size} bytes, Manifest.db Size ${file.size}) ${why}`, {
        location: file.contentPath,
        resource: file.name,
        hint: 'The backup is damaged; make a new backup to recover this item.',
      });
    if (!fileKey) return st.size < file.size ? corrupt('is too short for its recorded size') : { key: undefined, size: st.size };

    // An encrypted file holds Size bytes plus 1–16 bytes of PKCS#7 padding, in whole AES blocks.
    if (st.size <= file.size) return corrupt('is too short for its recorded size plus padding');
    if (st.size % 16 !== 0) return corrupt('is not a whole number of AES blocks (cut short or damaged)');
    const padded = await paddedPlaintextLength(file.contentPath, st.size, fileKey).catch((err: Error) => err);
    if (padded instanceof Error) {
      return new KeepsakeError('SOURCE_READ_FAILED', `Could not read ${file.relativePath} from the backup: ${padded.message}`, { location: file.contentPath, resource: file.name, cause: padded, classification: 'retryable' });
    }
    if (padded === undefined) return corrupt('does not end in valid PKCS#7 padding (its last block is damaged, or it was cut at a block edge)');
    if (padded === file.size) return { key: fileKey, size: padded };
    // Size lies in the last block: the file is exactly as long as Size encrypts to, so a pad that
    // disagrees is a damaged last block that happens to look padded.
    if (file.size >= st.size - 16) return corrupt(`has padding that gives ${padded} bytes, not the ${file.size} its length agrees with (its last block is damaged)`);
    return { key: fileKey, size: padded };
  }

  /** Metadata of one file for dates and Live Photo pairing; problems become warnings, never failures. */
  private async readInfo(file: BackupMediaFile, key: Uint8Array | undefined, diagnostics: Diagnostic[]): Promise<MediaInfo | undefined> {
    if (file.size === 0) return undefined;
    const ra = await openContentRandomAccess(file.contentPath, file.size, key);
    try {
      const info = await readMediaInfo(ra);
      if (info.damage) diagnostics.push({ level: 'warning', source: 'media:malformed', message: `Metadata of ${file.name} is partly damaged (${info.damage}); the readable part was used` });
      return info;
    } catch (err) {
      diagnostics.push({ level: 'warning', source: 'media:malformed', message: `Could not read metadata of ${file.name}: ${isKeepsakeError(err) ? err.message : String(err)}` });
      return undefined;
    } finally {
      await ra.close?.();
    }
  }
}
