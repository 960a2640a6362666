/**
 * @keepsake/plugin-itunes-backup — source `itunes-backup`: camera-roll photos and videos from
 * iTunes / Finder backups of an iPhone, plain or encrypted; command `keepsake backups`.
 * @packageDocumentation
 */
import { definePlugin } from '@keepsake/core';
import { backupsCommand } from './backups-command.js';
import { createItunesBackupSource, type ItunesBackupOptions } from './itunes-backup-source.js';

export { aesKeyUnwrap, aesKeyWrap } from './aes-key-wrap.js';
export { type BackupInfo, findBackups, readBackupInfo, selectBackup } from './backup-info.js';
export { type BackupKeys, unlockBackup } from './backup-keys.js';
export { defaultBackupRoots } from './backup-locations.js';
export { type BackupListing, backupsCommand, toListing } from './backups-command.js';
export { type ContentStreamOptions, openContent as openBackupContent } from './content-stream.js';
export type { BackupErrorCode } from './errors.js';
export { createItunesBackupSource, type ItunesBackupOptions, type PromptTerminal } from './itunes-backup-source.js';
export { type PlistDict, PlistUid, type PlistValue } from './plist-value.js';
export { parsePlist } from './plist.js';

export default definePlugin({
  activate(ctx) {
    ctx.subscriptions.push(
      ctx.sources.register('itunes-backup', {
        create: (options: ItunesBackupOptions, fctx) => createItunesBackupSource(options, fctx),
      }),
      ctx.commands.register('backups', backupsCommand),
    );
  },
});
