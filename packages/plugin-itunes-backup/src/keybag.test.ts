import { createHash, pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateBackup } from '../test/backup-generator.ts';
import { parseBinaryPlist } from './bplist.js';
import { derivePasswordKey, unlockClassKeys } from './key-derivation.js';
import { parseKeybag } from './keybag.js';

function keybagOf(opts: Parameters<typeof generateBackup>[0]['encrypted']): Uint8Array {
  const root = mkdtempSync(join(tmpdir(), 'keepsake-keybag-'));
  const { dir } = generateBackup({ root, udid: 'kb', files: [], encrypted: opts });
  return (parseBinaryPlist(readFileSync(join(dir, 'Manifest.plist'))) as { BackupKeyBag: Uint8Array }).BackupKeyBag;
}

function tlv(tag: string, value: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.write(tag, 0, 'latin1');
  h.writeUInt32BE(value.byteLength, 4);
  return Buffer.concat([h, value]);
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('backup key bag', () => {
  it('parses header and class records, derives the key in two PBKDF2 rounds, unwraps every class key', async () => {
    const bag = parseKeybag(keybagOf({ password: 'pw', dpic: 500, iter: 7 }), 'test');
    expect(bag.version).toBe(4);
    expect(bag.type).toBe(1);
    expect(bag.iterations).toBe(7);
    expect(bag.doubleProtectionIterations).toBe(500);
    expect([...bag.classKeys.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const key = await derivePasswordKey('pw', bag);
    const expected = pbkdf2Sync(pbkdf2Sync('pw', bag.doubleProtectionSalt as Uint8Array, 500, 32, 'sha256'), bag.salt, 7, 32, 'sha1');
    expect(Buffer.from(key).equals(expected)).toBe(true);
    expect(unlockClassKeys(bag, key)?.size).toBe(11);
    expect(unlockClassKeys(bag, await derivePasswordKey('wrong', bag))).toBeUndefined();
  });

  it('uses the single SHA-1 round for key bags without DPSL/DPIC (before iOS 10.2)', async () => {
    const bag = parseKeybag(keybagOf({ password: 'old', iter: 9 }), 'test');
    expect(bag.doubleProtectionSalt).toBeUndefined();
    const key = await derivePasswordKey('old', bag);
    expect(Buffer.from(key).equals(pbkdf2Sync('old', bag.salt, 9, 32, 'sha1'))).toBe(true);
    expect(unlockClassKeys(bag, key)?.size).toBe(11);
  });

  it('refuses unknown tags, truncation and missing fields with typed errors', () => {
    const head = Buffer.concat([tlv('VERS', u32(3)), tlv('TYPE', u32(1)), tlv('UUID', Buffer.alloc(16)), tlv('SALT', Buffer.alloc(20)), tlv('ITER', u32(10))]);
    const cls = Buffer.concat([tlv('UUID', Buffer.alloc(16, 1)), tlv('CLAS', u32(3)), tlv('WRAP', u32(3)), tlv('KTYP', u32(0)), tlv('WPKY', Buffer.alloc(40))]);
    expect(parseKeybag(Buffer.concat([head, cls]), 'x').classKeys.get(3)?.wrap).toBe(3);
    expect(() => parseKeybag(Buffer.concat([head, tlv('NOPE', u32(1)), cls]), 'x')).toThrow(expect.objectContaining({ code: 'BACKUP_KEYBAG_UNKNOWN_TAG' }));
    expect(() => parseKeybag(Buffer.concat([head, cls, tlv('QQQQ', u32(1))]), 'x')).toThrow(expect.objectContaining({ code: 'BACKUP_KEYBAG_UNKNOWN_TAG' }));
    const whole = Buffer.concat([head, cls]);
    expect(() => parseKeybag(whole.subarray(0, whole.byteLength - 3), 'x')).toThrow(expect.objectContaining({ code: 'BACKUP_KEYBAG_INVALID' }));
    expect(() => parseKeybag(whole.subarray(0, whole.byteLength - 50), 'x')).toThrow(expect.objectContaining({ code: 'BACKUP_KEYBAG_INVALID' }));
    expect(() => parseKeybag(Buffer.concat([tlv('UUID', Buffer.alloc(16)), tlv('ITER', u32(1)), cls]), 'x')).toThrow(/SALT or ITER/);
    expect(() => parseKeybag(Buffer.concat([head, tlv('DPSL', Buffer.alloc(20)), cls]), 'x')).toThrow(/DPSL and DPIC/);
    expect(() => parseKeybag(head, 'x')).toThrow(/no class keys/);
    expect(() => parseKeybag(Buffer.concat([head, tlv('DPSL', Buffer.alloc(20)), tlv('DPIC', u32(0xffffffff)), cls]), 'x')).toThrow(/implausible iteration/);
    const hugeIter = Buffer.concat([tlv('UUID', Buffer.alloc(16)), tlv('SALT', Buffer.alloc(20)), tlv('ITER', u32(0xffffffff)), cls]);
    expect(() => parseKeybag(hugeIter, 'x')).toThrow(/implausible iteration/);
    expect(() => parseKeybag(Buffer.concat([head, tlv('UUID', Buffer.alloc(16, 2)), tlv('WPKY', Buffer.alloc(40))]), 'x')).toThrow(/no CLAS/);
  });

  it('computes backup file IDs the way real backups do', async () => {
    const { backupFileID } = await import('./mbdb.js');
    // The SMS database's well-known name in every backup.
    expect(backupFileID('HomeDomain', 'Library/SMS/sms.db')).toBe('3d0d7e5fb2ce288813306e4d4636395e047a3d28');
    expect(backupFileID('CameraRollDomain', 'Media/DCIM/100APPLE/IMG_0001.HEIC')).toBe(createHash('sha1').update('CameraRollDomain-Media/DCIM/100APPLE/IMG_0001.HEIC').digest('hex'));
  });
});
