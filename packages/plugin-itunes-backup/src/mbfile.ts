import { parseBinaryPlist } from './bplist.js';
import { isPlistDict, type PlistDict, PlistUid, type PlistValue } from './plist-value.js';

/** The fields of a Manifest.db `file` record (an NSKeyedArchiver-encoded MBFile) that keepsake uses. */
export interface MBFile {
  relativePath: string | undefined;
  /** Plaintext size in bytes (encrypted content is padded past it). */
  size: number;
  mode: number;
  /** Unix seconds. */
  lastModified: number | undefined;
  birth: number | undefined;
  protectionClass: number;
  /** Encrypted backups: u32le protection class + 40-byte RFC 3394-wrapped file key. */
  encryptionKey: Uint8Array | undefined;
  /** Extended attributes (`com.apple.assetsd.*` on camera-roll files), when recorded. */
  extendedAttributes: PlistDict | undefined;
}

export class KeyedArchiveError extends Error {
  override readonly name = 'KeyedArchiveError';
}

/**
 * Decodes the NSKeyedArchiver `file` blob of a Manifest.db row. The archive is a bplist with
 * `$objects` (a flat table) and `$top.root` (a UID into it); values that are UIDs point at further
 * table entries (strings, NSData/NSMutableData wrappers).
 */
export function decodeMBFile(blob: Uint8Array): MBFile {
  const archive = parseBinaryPlist(blob);
  if (!isPlistDict(archive) || archive.$archiver !== 'NSKeyedArchiver') throw new KeyedArchiveError('not an NSKeyedArchiver archive');
  const objects = archive.$objects;
  const top = archive.$top;
  if (!Array.isArray(objects) || !isPlistDict(top)) throw new KeyedArchiveError('archive without $objects or $top');

  const deref = (v: PlistValue | undefined): PlistValue | undefined => {
    if (!(v instanceof PlistUid)) return v;
    if (v.value >= objects.length) throw new KeyedArchiveError(`UID ${v.value} outside $objects`);
    const o = objects[v.value];
    return o === '$null' ? undefined : o;
  };
  const root = deref(top.root);
  if (!isPlistDict(root)) throw new KeyedArchiveError('$top.root is not an object');
  const cls = deref(root.$class);
  if (!isPlistDict(cls) || cls.$classname !== 'MBFile') throw new KeyedArchiveError('root object is not an MBFile');

  const int = (key: string, required: boolean): number | undefined => {
    const v = deref(root[key]);
    if (v === undefined && !required) return undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    throw new KeyedArchiveError(`MBFile.${key} is ${v === undefined ? 'missing' : 'not an integer'}`);
  };
  const data = (v: PlistValue | undefined): Uint8Array | undefined => {
    const d = deref(v);
    if (d === undefined) return undefined;
    if (d instanceof Uint8Array) return d;
    if (isPlistDict(d) && d['NS.data'] instanceof Uint8Array) return d['NS.data'];
    throw new KeyedArchiveError('expected NSData');
  };
  const relativePath = deref(root.RelativePath);
  if (relativePath !== undefined && typeof relativePath !== 'string') throw new KeyedArchiveError('MBFile.RelativePath is not a string');

  let extendedAttributes: PlistDict | undefined;
  const xattrs = deref(root.ExtendedAttributes);
  if (xattrs !== undefined) {
    // Either an NSData holding a bplist dict, or (older archives) an NSDictionary with NS.keys/NS.objects.
    const bytes = isPlistDict(xattrs) && !('NS.keys' in xattrs) ? data(root.ExtendedAttributes) : xattrs instanceof Uint8Array ? xattrs : undefined;
    if (bytes) {
      try {
        const v = parseBinaryPlist(bytes);
        if (isPlistDict(v)) extendedAttributes = v;
      } catch {
        // Extended attributes only add metadata; a bad one must not hide the file.
      }
    }
  }

  return {
    relativePath,
    size: int('Size', true) as number,
    mode: int('Mode', false) ?? 0,
    lastModified: int('LastModified', false),
    birth: int('Birth', false),
    protectionClass: int('ProtectionClass', false) ?? 0,
    encryptionKey: data(root.EncryptionKey),
    extendedAttributes,
  };
}
