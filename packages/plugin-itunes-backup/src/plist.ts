import { readFile, stat } from 'node:fs/promises';
import { BplistFormatError, isBinaryPlist, parseBinaryPlist } from './bplist.js';
import { BackupError } from './errors.js';
import type { PlistValue } from './plist-value.js';
import { parseXmlPlist, XmlPlistFormatError } from './xml-plist.js';

/** Decodes a binary or XML plist from bytes; `location` names it in errors. */
export function parsePlist(bytes: Uint8Array, location: string): PlistValue {
  try {
    if (isBinaryPlist(bytes)) return parseBinaryPlist(bytes);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    if (!text.trimStart().startsWith('<')) throw new XmlPlistFormatError('neither a binary nor an XML property list');
    return parseXmlPlist(text);
  } catch (err) {
    if (err instanceof BplistFormatError || err instanceof XmlPlistFormatError) throw BackupError.plistInvalid(location, err.message, err);
    throw err;
  }
}

/** Reads and decodes a plist file. Files above `maxBytes` are refused (plists here are small). */
export async function readPlistFile(path: string, maxBytes = 64 * 1024 * 1024): Promise<PlistValue> {
  const { size } = await stat(path);
  if (size > maxBytes) throw BackupError.plistInvalid(path, `${size} bytes is larger than any real backup plist`);
  const bytes = await readFile(path);
  return parsePlist(bytes, path);
}
