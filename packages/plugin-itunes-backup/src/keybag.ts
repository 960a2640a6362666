import { BackupError, backupError } from './errors.js';

/** One protection-class key record of a backup key bag. */
export interface ClassKeyRecord {
  protectionClass: number;
  /** Wrap flags: 0x2 = wrapped with the password-derived key, 0x1 = device key. */
  wrap: number;
  keyType: number;
  /** RFC 3394-wrapped 32-byte class key. */
  wrappedKey: Uint8Array | undefined;
}

/** A parsed `BackupKeyBag` from Manifest.plist. */
export interface Keybag {
  version: number | undefined;
  type: number | undefined;
  uuid: Uint8Array | undefined;
  /** SHA-1 round of the key derivation. */
  salt: Uint8Array;
  iterations: number;
  /** SHA-256 round (iOS ≥ 10.2); absent in older backups. */
  doubleProtectionSalt: Uint8Array | undefined;
  doubleProtectionIterations: number | undefined;
  classKeys: Map<number, ClassKeyRecord>;
}

/**
 * Real backups use 10,000,000 (SHA-256) and 10,000 (SHA-1) iterations. Far larger counts would
 * keep the derivation busy for hours, so they are refused as a damaged or hostile key bag.
 */
export const MAX_DPIC = 100_000_000;
export const MAX_ITER = 10_000_000;

/** Tags seen in backup key bags; anything else means a format keepsake does not understand. */
const HEADER_TAGS = new Set(['VERS', 'TYPE', 'UUID', 'HMCK', 'WRAP', 'SALT', 'ITER', 'DPWT', 'DPIC', 'DPSL', 'SIGN']);
const CLASS_TAGS = new Set(['UUID', 'CLAS', 'WRAP', 'KTYP', 'WPKY', 'PBKY']);

/**
 * Parses the key bag TLV stream: 4-byte ASCII tag, u32be length, value. The first `UUID` is the
 * bag's own; every later `UUID` starts a class-key record. An unknown tag is an error
 * (BACKUP_KEYBAG_UNKNOWN_TAG) rather than silently ignored, since guessing could mis-derive keys.
 */
export function parseKeybag(bytes: Uint8Array, location: string): Keybag {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = new Map<string, Buffer>();
  const classKeys = new Map<number, ClassKeyRecord>();
  let current: Map<string, Buffer> | undefined;
  const finishClass = () => {
    if (!current) return;
    const clas = current.get('CLAS');
    if (clas?.byteLength !== 4 || !clas) throw BackupError.keybagInvalid(location, 'a class-key record has no CLAS');
    const protectionClass = clas.readUInt32BE(0);
    const wrap = current.get('WRAP');
    const ktyp = current.get('KTYP');
    classKeys.set(protectionClass, {
      protectionClass,
      wrap: wrap?.byteLength === 4 ? wrap.readUInt32BE(0) : 0,
      keyType: ktyp?.byteLength === 4 ? ktyp.readUInt32BE(0) : 0,
      wrappedKey: current.has('WPKY') ? new Uint8Array(current.get('WPKY') as Buffer) : undefined,
    });
  };

  let pos = 0;
  while (pos < buf.byteLength) {
    if (pos + 8 > buf.byteLength) throw BackupError.keybagInvalid(location, `truncated tag header at byte ${pos}`);
    const tag = buf.toString('latin1', pos, pos + 4);
    const len = buf.readUInt32BE(pos + 4);
    if (pos + 8 + len > buf.byteLength) throw BackupError.keybagInvalid(location, `tag ${JSON.stringify(tag)} at byte ${pos} claims ${len} bytes past the end`);
    const value = buf.subarray(pos + 8, pos + 8 + len);
    pos += 8 + len;
    if (tag === 'UUID' && header.has('UUID')) {
      finishClass();
      current = new Map([['UUID', value]]);
      continue;
    }
    const known = current ? CLASS_TAGS.has(tag) || HEADER_TAGS.has(tag) : HEADER_TAGS.has(tag);
    if (!known) {
      throw backupError('BACKUP_KEYBAG_UNKNOWN_TAG', `The backup's key bag has a tag keepsake does not know: ${JSON.stringify(tag)} at byte ${pos - 8 - len}`, {
        location,
        classification: 'fatal',
        hint: 'This backup may come from a newer iOS than keepsake supports, or be damaged. Please report it (without the password) at the keepsake issue tracker.',
      });
    }
    if (current && CLASS_TAGS.has(tag)) current.set(tag, value);
    else header.set(tag, value);
  }
  finishClass();

  const u32 = (tag: string): number | undefined => {
    const v = header.get(tag);
    if (v === undefined) return undefined;
    if (v.byteLength !== 4) throw BackupError.keybagInvalid(location, `${tag} must be 4 bytes`);
    return v.readUInt32BE(0);
  };
  const salt = header.get('SALT');
  const iterations = u32('ITER');
  if (!salt || iterations === undefined || iterations < 1) throw BackupError.keybagInvalid(location, 'SALT or ITER missing');
  const dpsl = header.get('DPSL');
  const dpic = u32('DPIC');
  if ((dpsl === undefined) !== (dpic === undefined)) throw BackupError.keybagInvalid(location, 'DPSL and DPIC must come together');
  if (iterations > MAX_ITER || (dpic !== undefined && (dpic < 1 || dpic > MAX_DPIC))) {
    throw BackupError.keybagInvalid(location, `implausible iteration counts (ITER ${iterations}, DPIC ${dpic}); real backups use 10,000 and 10,000,000`);
  }
  if (classKeys.size === 0) throw BackupError.keybagInvalid(location, 'no class keys');
  return {
    version: u32('VERS'),
    type: u32('TYPE'),
    uuid: header.has('UUID') ? new Uint8Array(header.get('UUID') as Buffer) : undefined,
    salt: new Uint8Array(salt),
    iterations,
    doubleProtectionSalt: dpsl ? new Uint8Array(dpsl) : undefined,
    doubleProtectionIterations: dpic,
    classKeys,
  };
}
