import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateBackup, mbfileArchive } from '../test/backup-generator.ts';
import { Uid, writeBinaryPlist } from '../test/plist-writer.ts';
import { decodeMBFile, KeyedArchiveError } from './mbfile.js';
import { MbdbFormatError, parseMbdb } from './mbdb.js';

describe('Manifest.mbdb (before iOS 10)', () => {
  const root = mkdtempSync(join(tmpdir(), 'keepsake-mbdb-'));
  const { dir } = generateBackup({
    root,
    udid: 'old',
    format: 'mbdb',
    files: [
      { domain: 'CameraRollDomain', relativePath: 'Media/DCIM', flags: 2 },
      { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/100APPLE/IMG_0001.JPG', content: Buffer.alloc(1234, 1), mtime: 1_400_000_000 },
      { domain: 'HomeDomain', relativePath: 'Library/link', flags: 4 },
    ],
  });
  const bytes = readFileSync(join(dir, 'Manifest.mbdb'));

  it('reads every record: strings, mode, times, size, class, file ID', () => {
    const recs = parseMbdb(bytes);
    expect(recs.map((r) => [r.domain, r.path, (r.mode & 0xf000).toString(16)])).toEqual([
      ['CameraRollDomain', 'Media/DCIM', '4000'],
      ['CameraRollDomain', 'Media/DCIM/100APPLE/IMG_0001.JPG', '8000'],
      ['HomeDomain', 'Library/link', 'a000'],
    ]);
    const jpg = recs[1];
    expect(jpg).toMatchObject({ size: 1234, mtime: 1_400_000_000, protectionClass: 3, linkTarget: undefined, encryptionKey: undefined });
    expect(recs[2]?.linkTarget).toBe('/private/var/target');
    expect(readFileSync(join(dir, jpg?.fileID as string))).toHaveLength(1234);
  });

  it('refuses a bad header or a truncated record', () => {
    expect(() => parseMbdb(Buffer.from('mbdx\x05\x00'))).toThrow(MbdbFormatError);
    expect(() => parseMbdb(bytes.subarray(0, bytes.byteLength - 7))).toThrow(/truncated/);
  });
});

describe('MBFile records', () => {
  it('decodes what the generator archives, including the 44-byte EncryptionKey', () => {
    const key = new Uint8Array(44).fill(9);
    const f = decodeMBFile(mbfileArchive({ relativePath: 'Media/DCIM/100APPLE/IMG_0001.HEIC', size: 5_000_000_000, mode: 0o100644, mtime: 1_700_000_000, protectionClass: 3, encryptionKey: key }));
    expect(f).toMatchObject({ relativePath: 'Media/DCIM/100APPLE/IMG_0001.HEIC', size: 5_000_000_000, mode: 0o100644, lastModified: 1_700_000_000, birth: 1_699_999_995, protectionClass: 3 });
    expect(f.encryptionKey).toEqual(key);
  });

  it('refuses archives that are not an MBFile or point outside $objects', () => {
    const archive = (objects: unknown[], root = 1) => writeBinaryPlist({ $version: 100000, $archiver: 'NSKeyedArchiver', $top: { root: new Uid(root) }, $objects: objects as never });
    expect(() => decodeMBFile(writeBinaryPlist({ a: 1 }))).toThrow(KeyedArchiveError);
    expect(() => decodeMBFile(archive(['$null', { $class: new Uid(2), Size: 1 }, { $classname: 'NSObject' }]))).toThrow(/not an MBFile/);
    expect(() => decodeMBFile(archive(['$null', { $class: new Uid(2) }, { $classname: 'MBFile' }]))).toThrow(/Size is missing/);
    expect(() => decodeMBFile(archive(['$null', { $class: new Uid(9), Size: 1 }]))).toThrow(/outside \$objects/);
    expect(() => decodeMBFile(archive(['$null'], 5))).toThrow(/outside \$objects/);
  });
});
