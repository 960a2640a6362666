import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { aesKeyUnwrap } from './aes-key-wrap.js';
import type { Keybag } from './keybag.js';

const pbkdf2Async = promisify(pbkdf2);

/**
 * Derives the 32-byte key that unwraps the class keys:
 * PBKDF2-SHA256(password, DPSL, DPIC) then PBKDF2-SHA1(that, SALT, ITER); backups older than
 * iOS 10.2 have only the SHA-1 round. Node runs PBKDF2 on its thread pool, so the ~10 million
 * SHA-256 iterations do not block the event loop.
 */
export async function derivePasswordKey(password: string, keybag: Keybag): Promise<Uint8Array> {
  let secret: Uint8Array = Buffer.from(password, 'utf8');
  if (keybag.doubleProtectionSalt && keybag.doubleProtectionIterations) {
    secret = await pbkdf2Async(secret, keybag.doubleProtectionSalt, keybag.doubleProtectionIterations, 32, 'sha256');
  }
  return new Uint8Array(await pbkdf2Async(secret, keybag.salt, keybag.iterations, 32, 'sha1'));
}

/**
 * Unwraps every password-wrapped class key. Returns `undefined` if any unwrap fails its RFC 3394
 * integrity check, which means the key (and so the password) is wrong.
 */
export function unlockClassKeys(keybag: Keybag, passwordKey: Uint8Array): Map<number, Uint8Array> | undefined {
  const out = new Map<number, Uint8Array>();
  for (const rec of keybag.classKeys.values()) {
    if (!rec.wrappedKey || (rec.wrap & 0x2) === 0) continue;
    const key = aesKeyUnwrap(passwordKey, rec.wrappedKey);
    if (!key) return undefined;
    out.set(rec.protectionClass, key);
  }
  return out.size > 0 ? out : undefined;
}
