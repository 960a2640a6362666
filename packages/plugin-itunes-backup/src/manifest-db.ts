import { createDecipheriv } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DatabaseSync } from 'node:sqlite';
import { BackupError } from './errors.js';

/** One `Files` row. */
export interface ManifestRow {
  fileID: string;
  domain: string;
  relativePath: string;
  flags: number;
  file: Uint8Array | null;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * A readable Manifest.db. The backup folder is never written to: an encrypted database is
 * decrypted into a private temp folder, and a WAL-mode database (whose readers must create a
 * `-shm` file beside it) is copied there first. `close()` removes the temp folder.
 */
export class ManifestDb {
  private constructor(
    private readonly db: DatabaseSync,
    private readonly tempDir: string | undefined,
    readonly location: string,
  ) {}

  static async open(path: string, manifestKey?: Uint8Array): Promise<ManifestDb> {
    let tempDir: string | undefined;
    try {
      let file = path;
      if (manifestKey) {
        tempDir = await mkdtemp(join(tmpdir(), 'keepsake-manifest-'));
        file = join(tempDir, 'Manifest.db');
        await decryptWhole(path, file, manifestKey);
      } else if (await needsCopy(path)) {
        tempDir = await mkdtemp(join(tmpdir(), 'keepsake-manifest-'));
        file = join(tempDir, 'Manifest.db');
        await copyFile(path, file);
        await copyFile(`${path}-wal`, `${file}-wal`).catch(() => {});
      }
      await checkMagic(file, path);
      const db = new DatabaseSync(file, { readOnly: !tempDir });
      const m = new ManifestDb(db, tempDir, path);
      m.checkSchema();
      return m;
    } catch (err) {
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw BackupError.manifestCorrupt(path, 'the file is missing', err);
      if ((err as { code?: string }).code?.startsWith('BACKUP_')) throw err;
      throw BackupError.manifestCorrupt(path, (err as Error).message, err);
    }
  }

  private checkSchema(): void {
    const cols = this.db.prepare('PRAGMA table_info(Files)').all() as { name: string }[];
    const names = new Set(cols.map((c) => c.name));
    for (const need of ['fileID', 'domain', 'relativePath', 'flags', 'file']) {
      if (!names.has(need)) throw BackupError.manifestCorrupt(this.location, `table Files has no column ${need}`);
    }
  }

  /** Rows of one domain whose path starts with `prefix`, in path order. */
  *rows(domain: string, prefix: string): Generator<ManifestRow> {
    try {
      const stmt = this.db.prepare(
        'SELECT fileID, domain, relativePath, flags, file FROM Files WHERE domain = ? AND substr(relativePath, 1, ?) = ? ORDER BY relativePath',
      );
      for (const r of stmt.iterate(domain, prefix.length, prefix) as Iterable<Record<string, unknown>>) {
        yield {
          fileID: String(r.fileID),
          domain: String(r.domain),
          relativePath: String(r.relativePath ?? ''),
          flags: Number(r.flags),
          file: r.file instanceof Uint8Array ? r.file : typeof r.file === 'string' ? Buffer.from(r.file, 'latin1') : null,
        };
      }
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('BACKUP_')) throw err;
      throw BackupError.manifestCorrupt(this.location, (err as Error).message, err);
    }
  }

  async close(): Promise<void> {
    try {
      this.db.close();
    } finally {
      if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
    }
  }
}

/** WAL databases need a writable `-shm` beside them; copy those out instead of touching the backup. */
async function needsCopy(path: string): Promise<boolean> {
  if (await stat(`${path}-wal`).then(() => true, () => false)) return true;
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(20);
    await fh.read(header, 0, 20, 0);
    return header[18] === 2 || header[19] === 2;
  } finally {
    await fh.close();
  }
}

/** True when the file starts with the SQLite header (an unencrypted Manifest.db). */
export async function isPlainSqlite(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const header = Buffer.alloc(16);
    const { bytesRead } = await fh.read(header, 0, 16, 0);
    return bytesRead === 16 && header.equals(SQLITE_MAGIC);
  } finally {
    await fh.close();
  }
}

async function checkMagic(file: string, location: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const header = Buffer.alloc(16);
    const { bytesRead } = await fh.read(header, 0, 16, 0);
    if (bytesRead < 16 || !header.equals(SQLITE_MAGIC)) throw BackupError.manifestCorrupt(location, 'it is not an SQLite database (wrong header)');
  } finally {
    await fh.close();
  }
}

/** AES-256-CBC, zero IV, streamed into `dest`; PKCS#7 padding is removed when it is well-formed. */
async function decryptWhole(src: string, dest: string, key: Uint8Array): Promise<void> {
  const { size } = await stat(src);
  if (size === 0 || size % 16 !== 0) throw BackupError.manifestCorrupt(src, `encrypted size ${size} is not a whole number of AES blocks (truncated?)`);
  const decipher = createDecipheriv('aes-256-cbc', key, new Uint8Array(16));
  decipher.setAutoPadding(false);
  await pipeline(createReadStream(src, { highWaterMark: 1024 * 1024 }), decipher, createWriteStream(dest, { mode: 0o600 }));
  // Strip the padding in place: SQLite would ignore it, but the page count check is cleaner without.
  const fh = await open(dest, 'r+');
  try {
    const last = Buffer.alloc(16);
    await fh.read(last, 0, 16, size - 16);
    const n = last[15] as number;
    if (n >= 1 && n <= 16 && last.subarray(16 - n).every((b) => b === n)) await fh.truncate(size - n);
  } finally {
    await fh.close();
  }
}
