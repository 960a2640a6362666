import { KeepsakeError, type KeepsakeErrorOptions } from '@keepsake/core';

/** Error codes this plugin throws (plain strings, like every plugin's own codes). */
export type BackupErrorCode =
  | 'BACKUP_NOT_FOUND'
  | 'BACKUP_AMBIGUOUS'
  | 'BACKUP_PLIST_INVALID'
  | 'BACKUP_KEYBAG_INVALID'
  | 'BACKUP_KEYBAG_UNKNOWN_TAG'
  | 'BACKUP_PASSWORD_REQUIRED'
  | 'BACKUP_PASSWORD_WRONG'
  | 'BACKUP_MANIFEST_CORRUPT'
  | 'BACKUP_RECORD_INVALID'
  | 'BACKUP_FILE_MISSING'
  | 'BACKUP_FILE_CORRUPT'
  | 'BACKUP_PATH_UNSAFE';

const PLUGIN = '@keepsake/plugin-itunes-backup';

/** A KeepsakeError stamped with this plugin's name. */
export function backupError(code: BackupErrorCode, message: string, options: KeepsakeErrorOptions = {}): KeepsakeError {
  return new KeepsakeError(code, message, { plugin: PLUGIN, contribution: 'itunes-backup', ...options });
}

export const BackupError = {
  plistInvalid: (location: string, why: string, cause?: unknown) =>
    backupError('BACKUP_PLIST_INVALID', `Property list ${location} is not valid: ${why}`, {
      location,
      cause,
      classification: 'fatal',
      hint: 'The backup is damaged or incomplete. Make a new backup in Finder/iTunes, or point `path` at another backup.',
    }),
  passwordWrong: (location: string) =>
    backupError('BACKUP_PASSWORD_WRONG', 'The backup password is wrong: the backup keys could not be unlocked with it', {
      location,
      classification: 'fatal',
      hint: 'Use the password set in Finder/iTunes under "Encrypt local backup" (not the iPhone passcode). Nothing was written.',
    }),
  passwordRequired: (location: string) =>
    backupError('BACKUP_PASSWORD_REQUIRED', 'This backup is encrypted and no password was given', {
      location,
      classification: 'fatal',
      hint: 'Set option `passwordFile`, or env KEEPSAKE_BACKUP_PASSWORD, or run in a terminal to be asked.',
    }),
  keybagInvalid: (location: string, why: string) =>
    backupError('BACKUP_KEYBAG_INVALID', `The backup's key bag (Manifest.plist BackupKeyBag) is not valid: ${why}`, {
      location,
      classification: 'fatal',
      hint: 'The backup is damaged. Make a new encrypted backup in Finder/iTunes.',
    }),
  manifestCorrupt: (location: string, why: string, cause?: unknown) =>
    backupError('BACKUP_MANIFEST_CORRUPT', `The backup's file list Manifest.db cannot be read: ${why}`, {
      location,
      cause,
      classification: 'fatal',
      hint: 'The backup is incomplete or damaged (was it interrupted or copied partly?). Make a new backup, or use another one.',
    }),
};
