import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type Asset, type Source, writeStreamAtomic } from '@keepsake/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdOf, generateBackup } from '../test/backup-generator.ts';
import { CAMERA_ROLL, factoryContext, fixtureBytes, type LogLine, memorySecrets, realisticFiles, recordingLogger } from '../test/fixtures.ts';
import { createItunesBackupSource } from './itunes-backup-source.js';

const PASSWORD = 'correct horse 🐎 battery';
const UDID = '00008110-000A1B2C3D4E801E';
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'keepsake-itunes-test-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function scanAll(source: Source, lines: LogLine[] = []): Promise<Asset[]> {
  const out: Asset[] = [];
  const totals: unknown[] = [];
  for await (const a of source.scan({ signal: new AbortController().signal, logger: recordingLogger(lines), reportTotals: (t) => totals.push(t) })) out.push(a);
  return out;
}

async function readAll(iter: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of iter) parts.push(c);
  return Buffer.concat(parts);
}

/** Snapshot of every file (name, size, mtime) under a folder, to prove nothing was written there. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        out.push(`${p} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort().join('\n');
}

/** Extracts every resource to `dest` the way a folder sink would, then compares bytes with the fixtures. */
async function extractAndCompare(assets: Asset[], dest: string) {
  const byName = new Map<string, string>();
  for (const [dcim, rel] of Object.entries(CAMERA_ROLL)) byName.set(dcim.split('/')[1] as string, rel);
  let checked = 0;
  for (const asset of assets) {
    for (const r of asset.resources) {
      const target = join(dest, r.name);
      const { bytes, hashes } = await writeStreamAtomic(target, r.open(), { durable: false });
      const expected = fixtureBytes(byName.get(r.name) as string);
      expect(bytes, r.name).toBe(expected.byteLength);
      expect(hashes.sha256, r.name).toBe(createHash('sha256').update(expected).digest('hex'));
      expect(readFileSync(target).equals(expected), r.name).toBe(true);
      checked++;
    }
  }
  expect(checked).toBe(Object.keys(CAMERA_ROLL).length);
}

function checkGrouping(assets: Asset[]) {
  const ids = assets.map((a) => a.id).sort();
  expect(ids).toEqual(['100APPLE/IMG_0001', '100APPLE/IMG_0002', '100APPLE/IMG_0003', '101APPLE/IMG_0004']);
  const byId = new Map(assets.map((a) => [a.id, a]));
  const live = byId.get('100APPLE/IMG_0002') as Asset;
  expect(live.kind).toBe('live');
  expect(live.resources.map((r) => [r.role, r.name])).toEqual([
    ['original', 'IMG_0002.JPG'],
    ['motion', 'IMG_0002.MOV'],
  ]);
  expect(live.contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
  expect(live.capturedAt).toEqual({ local: '2021-04-10T11:44:00.814', offset: '+01:00', source: 'exif' });
  expect(byId.get('100APPLE/IMG_0001')?.kind).toBe('photo');
  expect(byId.get('100APPLE/IMG_0001')?.capturedAt).toEqual({ local: '2019-03-21T11:04:22.348', offset: '-05:00', source: 'exif' });
  expect(byId.get('100APPLE/IMG_0003')?.kind).toBe('video');
  expect(byId.get('100APPLE/IMG_0003')?.capturedAt).toEqual({ local: '2019-02-12T15:27:12', offset: '+08:00', source: 'quicktime' });
  expect(byId.get('101APPLE/IMG_0004')?.capturedAt).toEqual({ local: '2020-05-04T18:39:11.644', offset: '-04:00', source: 'exif' });
  expect(byId.get('101APPLE/IMG_0004')?.contentIdentifier).toBe('1745E022-9712-43C7-B024-F308EC6413CB');
  const heic = byId.get('100APPLE/IMG_0001')?.resources[0];
  expect(heic).toMatchObject({ name: 'IMG_0001.HEIC', mediaType: 'image/heic', size: 880703, key: fileIdOf('CameraRollDomain', 'Media/DCIM/100APPLE/IMG_0001.HEIC') });
  for (const a of assets) expect(a.diagnostics?.filter((d) => d.level === 'error')).toEqual([]);
}

describe('itunes-backup source, plain backup', () => {
  it('yields the camera roll grouped, dated, and byte-identical; writes nothing into the backup', async () => {
    const root = join(work, 'plain');
    const { dir } = generateBackup({ root, udid: UDID, deviceName: 'Anna’s iPhone', files: realisticFiles() });
    const before = snapshot(dir);
    const source = await createItunesBackupSource({ path: root }, factoryContext());
    expect(source.key).toBe(`itunes-backup:${UDID.toLowerCase()}`);
    expect(source.capabilities).toMatchObject({ expensiveReads: false, canDelete: false, deleteNote: expect.stringContaining('never writes to an iTunes/Finder backup') });
    expect('delete' in source).toBe(false);
    const assets = await scanAll(source);
    checkGrouping(assets);
    await extractAndCompare(assets, mkdtempSync(join(work, 'out-')));
    expect(snapshot(dir)).toBe(before);
  });

  it('resumes reads at any offset', async () => {
    const root = join(work, 'plain-offset');
    generateBackup({ root, udid: UDID, files: realisticFiles() });
    const assets = await scanAll(await createItunesBackupSource({ path: join(root, UDID) }, factoryContext()));
    const mov = assets.find((a) => a.id === '100APPLE/IMG_0003')?.resources[0];
    const expected = fixtureBytes('video/meta.mov');
    for (const offset of [0, 1, 4095, 500_000, expected.byteLength - 1, expected.byteLength]) {
      expect((await readAll(mov!.open({ offset }))).equals(expected.subarray(offset)), `offset ${offset}`).toBe(true);
    }
  });

  it('reports a missing content file on that item only, and the run goes on', async () => {
    const root = join(work, 'plain-missing');
    const files = realisticFiles().map((f) => (f.relativePath.endsWith('IMG_0002.MOV') ? { ...f, omitBlob: true } : f));
    generateBackup({ root, udid: UDID, files });
    const assets = await scanAll(await createItunesBackupSource({ path: root }, factoryContext()));
    expect(assets).toHaveLength(4);
    const live = assets.find((a) => a.id === '100APPLE/IMG_0002') as Asset;
    expect(live.resources.map((r) => r.name)).toEqual(['IMG_0002.JPG']);
    expect(live.diagnostics).toContainEqual(expect.objectContaining({ level: 'error', source: 'itunes-backup:file-missing', message: expect.stringContaining('BACKUP_FILE_MISSING') }));
    const others = assets.filter((a) => a.id !== '100APPLE/IMG_0002');
    for (const a of others) expect(a.diagnostics?.filter((d) => d.level === 'error')).toEqual([]);
    expect((await readAll((live.resources[0] as Asset['resources'][number]).open())).equals(fixtureBytes('live-photo/train.jpg'))).toBe(true);
  });

  it('rejects ../ and absolute paths in Manifest.db per item', async () => {
    const root = join(work, 'plain-traversal');
    const evil = Buffer.from('evil');
    const files = [
      ...realisticFiles(),
      { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/100APPLE/../../../../escape.JPG', content: evil },
      { domain: 'CameraRollDomain', relativePath: '/Media/DCIM/100APPLE/IMG_0666.JPG', content: evil },
    ];
    generateBackup({ root, udid: UDID, files });
    const lines: LogLine[] = [];
    const assets = await scanAll(await createItunesBackupSource({ path: root }, factoryContext()), lines);
    checkGrouping(assets);
    for (const a of assets) for (const r of a.resources) expect(r.name).not.toMatch(/escape|IMG_0666/);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e.fields).toEqual({ code: 'BACKUP_PATH_UNSAFE' });
    const all = errors.map((e) => e.message).join('\n');
    expect(all).toContain('escape.JPG');
    expect(all).toContain('IMG_0666.JPG');
  });

  it('turns a truncated Manifest.db into BACKUP_MANIFEST_CORRUPT', async () => {
    const root = join(work, 'plain-truncated');
    const { dir } = generateBackup({ root, udid: UDID, files: realisticFiles() });
    const db = join(dir, 'Manifest.db');
    truncateSync(db, Math.floor(statSync(db).size / 2));
    const source = await createItunesBackupSource({ path: root }, factoryContext());
    await expect(scanAll(source)).rejects.toMatchObject({ code: 'BACKUP_MANIFEST_CORRUPT', hint: expect.any(String) });
    truncateSync(db, 10);
    await expect(scanAll(source)).rejects.toMatchObject({ code: 'BACKUP_MANIFEST_CORRUPT' });
  });

  it('reports a backup folder without Manifest.db as BACKUP_MANIFEST_CORRUPT, not as "no backup found"', async () => {
    const root = join(work, 'plain-no-db');
    const { dir } = generateBackup({ root, udid: UDID, files: realisticFiles() });
    rmSync(join(dir, 'Manifest.db'));
    const source = await createItunesBackupSource({ path: dir }, factoryContext());
    await expect(scanAll(source)).rejects.toMatchObject({ code: 'BACKUP_MANIFEST_CORRUPT', message: expect.stringContaining('missing') });
  });

  it("dates a Live Photo whose still has no metadata date from its video ('partner')", async () => {
    const root = join(work, 'plain-partner');
    const files = [
      { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/100APPLE/IMG_0005.JPG', content: fixtureBytes('edge-cases/noexif.jpg'), mtime: 1_700_000_000 },
      { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/100APPLE/IMG_0005.MOV', content: fixtureBytes('video/meta.mov'), mtime: 1_700_000_000 },
    ];
    generateBackup({ root, udid: UDID, files });
    const [asset, ...rest] = await scanAll(await createItunesBackupSource({ path: root }, factoryContext()));
    expect(rest).toEqual([]);
    expect(asset).toMatchObject({ id: '100APPLE/IMG_0005', kind: 'live', capturedAt: { local: '2019-02-12T15:27:12', offset: '+08:00', source: 'partner' } });
  });

  it('reads a WAL-mode Manifest.db from a copy, never creating -shm/-wal beside it', async () => {
    const root = join(work, 'plain-wal');
    const { dir } = generateBackup({ root, udid: UDID, files: realisticFiles() });
    const db = new DatabaseSync(join(dir, 'Manifest.db'));
    db.exec('PRAGMA journal_mode=WAL');
    db.close();
    expect(readFileSync(join(dir, 'Manifest.db'))[18]).toBe(2);
    const before = snapshot(dir);
    checkGrouping(await scanAll(await createItunesBackupSource({ path: root }, factoryContext())));
    expect(snapshot(dir)).toBe(before);
  });

  it('reads pre-iOS 10 backups (Manifest.mbdb, flat content files)', async () => {
    const root = join(work, 'mbdb');
    const { dir } = generateBackup({ root, udid: UDID, files: realisticFiles(), format: 'mbdb', iosVersion: '9.3.5' });
    const before = snapshot(dir);
    const assets = await scanAll(await createItunesBackupSource({ path: root }, factoryContext()));
    checkGrouping(assets);
    await extractAndCompare(assets, mkdtempSync(join(work, 'out-')));
    expect(snapshot(dir)).toBe(before);
  });
});

describe('itunes-backup source, encrypted backup', () => {
  let root: string;
  let dir: string;
  let passwordKeyHex: string;
  beforeAll(() => {
    root = join(work, 'enc');
    const g = generateBackup({ root, udid: UDID, files: realisticFiles(), encrypted: { password: PASSWORD, dpic: 2000, iter: 10 } });
    dir = g.dir;
    passwordKeyHex = g.passwordKeyHex as string;
  });

  it('decrypts every camera-roll file byte for byte, with the password from the environment', async () => {
    const before = snapshot(dir);
    const source = await createItunesBackupSource({ path: root }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } }));
    const assets = await scanAll(source);
    checkGrouping(assets);
    await extractAndCompare(assets, mkdtempSync(join(work, 'out-')));
    expect(snapshot(dir)).toBe(before);
  });

  it('decrypts from any offset (CBC resume) and trims the padding', async () => {
    const passwordFile = join(work, 'pw.txt');
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    const assets = await scanAll(await createItunesBackupSource({ path: root, passwordFile }, factoryContext()));
    const jpg = assets.find((a) => a.id === '100APPLE/IMG_0002')?.resources[0];
    const expected = fixtureBytes('live-photo/train.jpg');
    for (const offset of [0, 1, 15, 16, 17, 1_048_575, 1_048_576, 1_048_577, expected.byteLength - 17, expected.byteLength - 1, expected.byteLength]) {
      expect((await readAll(jpg!.open({ offset }))).equals(expected.subarray(offset)), `offset ${offset}`).toBe(true);
    }
  });

  it('fails with one clear BACKUP_PASSWORD_WRONG before yielding anything', async () => {
    const source = await createItunesBackupSource({ path: root }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: 'wrong' } }));
    const yielded: Asset[] = [];
    const err = await (async () => {
      try {
        for await (const a of source.scan({ signal: new AbortController().signal, logger: recordingLogger(), reportTotals() {} })) yielded.push(a);
      } catch (e) {
        return e;
      }
    })();
    expect(yielded).toEqual([]);
    expect(err).toMatchObject({ code: 'BACKUP_PASSWORD_WRONG', classification: 'fatal', hint: expect.stringContaining('Nothing was written') });
  });

  it('asks for a password when none is given', async () => {
    const source = await createItunesBackupSource({ path: root }, factoryContext());
    await expect(scanAll(source)).rejects.toMatchObject({ code: 'BACKUP_PASSWORD_REQUIRED' });
  });

  it('caches the derived key (never the password) only when asked, and uses it next time', async () => {
    const secrets = memorySecrets();
    await scanAll(await createItunesBackupSource({ path: root }, factoryContext({ secrets, env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } })));
    expect(secrets.data.size).toBe(0);
    await scanAll(await createItunesBackupSource({ path: root, cacheKey: true }, factoryContext({ secrets, env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } })));
    expect([...secrets.data.values()]).toEqual([passwordKeyHex]);
    expect([...secrets.data.values()].join()).not.toContain(PASSWORD);
    // No password this time: the cached key alone unlocks the backup.
    const assets = await scanAll(await createItunesBackupSource({ path: root, cacheKey: true }, factoryContext({ secrets })));
    checkGrouping(assets);
  });

  it('reports a truncated encrypted Manifest.db as BACKUP_MANIFEST_CORRUPT', async () => {
    const r = join(work, 'enc-truncated');
    const g = generateBackup({ root: r, udid: UDID, files: realisticFiles(), encrypted: { password: PASSWORD, dpic: 100, iter: 10 } });
    const db = join(g.dir, 'Manifest.db');
    const env = { KEEPSAKE_BACKUP_PASSWORD: PASSWORD };
    truncateSync(db, statSync(db).size - 5);
    await expect(scanAll(await createItunesBackupSource({ path: r }, factoryContext({ env })))).rejects.toMatchObject({ code: 'BACKUP_MANIFEST_CORRUPT' });
    truncateSync(db, Math.floor(statSync(db).size / 32) * 16);
    await expect(scanAll(await createItunesBackupSource({ path: r }, factoryContext({ env })))).rejects.toMatchObject({ code: 'BACKUP_MANIFEST_CORRUPT' });
  });

  it('reports a missing or truncated encrypted content file per item', async () => {
    const r = join(work, 'enc-missing');
    const files = realisticFiles().map((f) => (f.relativePath.endsWith('IMG_0001.HEIC') ? { ...f, omitBlob: true } : f));
    const g = generateBackup({ root: r, udid: UDID, files, encrypted: { password: PASSWORD, dpic: 100, iter: 10 } });
    const movId = fileIdOf('CameraRollDomain', 'Media/DCIM/100APPLE/IMG_0003.MOV');
    truncateSync(join(g.dir, movId.slice(0, 2), movId), 4096);
    const assets = await scanAll(await createItunesBackupSource({ path: r }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } })));
    expect(assets).toHaveLength(4);
    const heic = assets.find((a) => a.id === '100APPLE/IMG_0001') as Asset;
    expect(heic.resources).toEqual([]);
    expect(heic.diagnostics).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('BACKUP_FILE_MISSING') }));
    const mov = assets.find((a) => a.id === '100APPLE/IMG_0003') as Asset;
    expect(mov.diagnostics).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining('BACKUP_FILE_CORRUPT') }));
    const live = assets.find((a) => a.id === '100APPLE/IMG_0002') as Asset;
    expect((await readAll((live.resources[1] as Asset['resources'][number]).open())).equals(fixtureBytes('live-photo/train.mov'))).toBe(true);
  });

  it('unwraps a file key with MBFile.ProtectionClass when the key record\'s class prefix disagrees (as the reference tools do)', async () => {
    const r = join(work, 'enc-class-prefix');
    // the HEIC's prefix names a class the key bag lacks; the MOV's names another class that exists
    const files = realisticFiles().map((f) =>
      f.relativePath.endsWith('IMG_0001.HEIC') ? { ...f, protectionClass: 3, keyRecordClass: 99 } : f.relativePath.endsWith('IMG_0003.MOV') ? { ...f, protectionClass: 3, keyRecordClass: 1 } : f,
    );
    generateBackup({ root: r, udid: UDID, files, encrypted: { password: PASSWORD, dpic: 100, iter: 10 } });
    const assets = await scanAll(await createItunesBackupSource({ path: r }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } })));
    for (const a of assets) expect(a.diagnostics?.filter((d) => d.level === 'error') ?? [], a.id).toEqual([]);
    await extractAndCompare(assets, mkdtempSync(join(work, 'out-')));
  });

  it('reads encrypted iOS 10.0–10.1 backups: no ManifestKey, Manifest.db stored unencrypted', async () => {
    // Before iOS 10.2 only the content files were encrypted (iOSbackup#10, tested on 10.1.1).
    const r = join(work, 'enc-10.1');
    const { dir } = generateBackup({ root: r, udid: UDID, iosVersion: '10.1.1', files: realisticFiles(), encrypted: { password: PASSWORD, iter: 10, legacyManifest: '10.1' } });
    const before = snapshot(dir);
    const assets = await scanAll(await createItunesBackupSource({ path: r }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } })));
    checkGrouping(assets);
    await extractAndCompare(assets, mkdtempSync(join(work, 'out-')));
    expect(snapshot(dir)).toBe(before);
  });

  it('says clearly that iOS 10.0 encrypted records are not supported, instead of skipping every file', async () => {
    // iOS 10.0.x stored each Manifest.db `file` record as base64 of a password-encrypted blob (iphone-dataprotection#13, #30).
    const r = join(work, 'enc-10.0');
    generateBackup({ root: r, udid: UDID, iosVersion: '10.0.2', files: realisticFiles(), encrypted: { password: PASSWORD, iter: 10, legacyManifest: '10.0' } });
    const source = await createItunesBackupSource({ path: r }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } }));
    await expect(scanAll(source)).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining('iOS 10.0'), hint: expect.any(String) });
  });

  it('explains an encrypted backup whose ManifestKey is missing while Manifest.db is encrypted', async () => {
    const r = join(work, 'enc-no-manifest-key');
    const { dir } = generateBackup({ root: r, udid: UDID, files: realisticFiles(), encrypted: { password: PASSWORD, dpic: 100, iter: 10 } });
    const plist = join(dir, 'Manifest.plist');
    const { parsePlist } = await import('./plist.js');
    const { writeBinaryPlist } = await import('../test/plist-writer.ts');
    const m = parsePlist(readFileSync(plist), plist) as Record<string, unknown>;
    delete m.ManifestKey;
    writeFileSync(plist, writeBinaryPlist(m as never));
    const source = await createItunesBackupSource({ path: r }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } }));
    await expect(scanAll(source)).rejects.toMatchObject({ code: 'BACKUP_KEYBAG_INVALID', message: expect.stringContaining('ManifestKey') });
  });

  it('refuses a key bag with an unknown tag (BACKUP_KEYBAG_UNKNOWN_TAG)', async () => {
    const r = join(work, 'enc-unknown-tag');
    generateBackup({ root: r, udid: UDID, files: realisticFiles().slice(0, 3), encrypted: { password: PASSWORD, dpic: 100, iter: 10, extraTag: { tag: 'ZZZZ', value: new Uint8Array(4) } } });
    const source = await createItunesBackupSource({ path: r }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } }));
    await expect(scanAll(source)).rejects.toMatchObject({ code: 'BACKUP_KEYBAG_UNKNOWN_TAG', message: expect.stringContaining('ZZZZ') });
  });
});

describe('a Manifest.db Size that disagrees with the stored content', () => {
  // Real backups sometimes record a Size smaller than the file that was stored (the file changed
  // while the backup ran): iphone_backup_decrypt#1, iOSbackup#1/#26, mvt discussion 316. The
  // stored bytes (plain) or the PKCS#7 padding (encrypted) are authoritative; cutting at Size
  // silently corrupts the photo.
  const heic = fixtureBytes('heic/IMG_2682.heic');
  const files = () => [
    { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/100APPLE/IMG_0001.HEIC', content: heic, recordedSize: heic.byteLength - 1000, mtime: 1_700_000_000 },
  ];
  for (const encrypted of [false, true]) {
    it(`yields the whole stored file when Size is too small (${encrypted ? 'encrypted' : 'plain'})`, async () => {
      const root = join(work, `size-stale-${encrypted ? 'enc' : 'plain'}`);
      generateBackup({ root, udid: UDID, files: files(), ...(encrypted ? { encrypted: { password: PASSWORD, dpic: 100, iter: 10 } } : {}) });
      const env = encrypted ? { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } : {};
      const [asset] = await scanAll(await createItunesBackupSource({ path: root }, factoryContext({ env })));
      const r = asset?.resources[0] as Asset['resources'][number];
      expect(r.size).toBe(heic.byteLength);
      expect((await readAll(r.open())).equals(heic)).toBe(true);
      expect((await readAll(r.open({ offset: heic.byteLength - 1010 }))).equals(heic.subarray(heic.byteLength - 1010))).toBe(true);
      expect(asset?.diagnostics).toContainEqual(expect.objectContaining({ level: 'warning', source: 'itunes-backup:size-mismatch' }));
    });
  }

  // A damaged last block decrypts to random bytes. Reading Size bytes anyway passes those off as the
  // end of the photo; when the stored file is longer than Size it also drops its real tail.
  const corruptItem = async (name: string, file: { content: Uint8Array; recordedSize?: number; lastBlockPlaintext: Uint8Array }) => {
    const root = join(work, name);
    generateBackup({
      root,
      udid: UDID,
      files: [{ domain: 'CameraRollDomain', relativePath: 'Media/DCIM/100APPLE/IMG_0001.HEIC', mtime: 1_700_000_000, ...file }],
      encrypted: { password: PASSWORD, dpic: 100, iter: 10 },
    });
    const [asset] = await scanAll(await createItunesBackupSource({ path: root }, factoryContext({ env: { KEEPSAKE_BACKUP_PASSWORD: PASSWORD } })));
    return asset as Asset;
  };
  const expectCorrupt = (asset: Asset) => {
    expect(asset.resources).toEqual([]);
    expect(asset.diagnostics).toContainEqual(expect.objectContaining({ level: 'error', source: 'itunes-backup:file-unreadable', message: expect.stringContaining('BACKUP_FILE_CORRUPT') }));
    expect(asset.diagnostics?.filter((d) => d.source === 'itunes-backup:size-mismatch')).toEqual([]);
  };

  it('refuses an encrypted file whose padding does not check out, whatever Size says', async () => {
    const badPad = Buffer.concat([randomBytes(15), Buffer.from([0x00])]); // 0 is never a PKCS#7 pad byte
    const padded = 16 * Math.floor(heic.byteLength / 16) + 16;
    for (const [name, recordedSize] of [
      ['size-agrees', heic.byteLength], // Size matches the file: reading it would end the photo in garbage
      ['size-stale', heic.byteLength - 1000], // the stored file is longer: falling back to Size drops 1000 real bytes
      ['size-is-cipher', padded], // Size equals the ciphertext length
    ] as const) {
      expectCorrupt(await corruptItem(`bad-pad-${name}`, { content: heic, recordedSize, lastBlockPlaintext: badPad }));
    }
  });

  it('refuses a damaged last block that looks padded but contradicts a Size the file length agrees with', async () => {
    // 16·n + 5 bytes: the real pad is eleven 0x0b; garbage ending in 0x01 looks like a 1-byte pad.
    const content = heic.subarray(0, 16 * 4000 + 5);
    const tail = Buffer.concat([content.subarray(16 * 4000), randomBytes(10), Buffer.from([0x01])]);
    expectCorrupt(await corruptItem('lookalike-pad', { content, lastBlockPlaintext: tail }));
    // The same tail with the right pad is indistinguishable from a good file (the residual risk the README states).
    const good = Buffer.concat([content.subarray(16 * 4000), Buffer.alloc(11, 11)]);
    const asset = await corruptItem('right-pad', { content, lastBlockPlaintext: good });
    expect((await readAll((asset.resources[0] as Asset['resources'][number]).open())).equals(content)).toBe(true);
  });
});

describe('finding the backup', () => {
  it('picks by udid among several devices, and says which when it is ambiguous', async () => {
    const r = join(work, 'many');
    generateBackup({ root: r, udid: 'aaaa0000111122223333444455556666aaaabbbb', deviceName: 'Old phone', files: [] });
    generateBackup({ root: r, udid: UDID, deviceName: 'New phone', files: realisticFiles() });
    await expect(createItunesBackupSource({ path: r }, factoryContext())).rejects.toMatchObject({ code: 'BACKUP_AMBIGUOUS', message: expect.stringContaining('Old phone') });
    const s = await createItunesBackupSource({ path: r, udid: UDID }, factoryContext());
    expect(s.key).toBe(`itunes-backup:${UDID.toLowerCase()}`);
    await expect(createItunesBackupSource({ path: r, udid: 'nope' }, factoryContext())).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
    await expect(createItunesBackupSource({ path: join(work, 'does-not-exist') }, factoryContext())).rejects.toMatchObject({ code: 'BACKUP_NOT_FOUND' });
  });
});
