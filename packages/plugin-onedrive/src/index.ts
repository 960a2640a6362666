/**
 * @keepsake/plugin-onedrive — the `onedrive` sink (Microsoft Graph).
 * @packageDocumentation
 */
import { definePlugin, type SinkContribution } from '@keepsake/core';
import { loginOneDrive, logoutOneDrive } from './login.js';
import { createOneDriveSink } from './onedrive-sink.js';
import type { OneDriveOptions } from './options.js';
import { registerQuickXorHash } from './register-hash.js';

export { createOneDriveSink, type OneDriveSinkDeps } from './onedrive-sink.js';
export { type OneDriveOptions, DEFAULT_OPTIONS, MAX_FILE_BYTES, FRAGMENT_UNIT } from './options.js';
export { QuickXorHash, quickXorHash } from './quick-xor-hash.js';
export { registerQuickXorHash } from './register-hash.js';
export { sanitizeOneDriveSegment, renderFolder, resourceFileName } from './names.js';
export { loginOneDrive, logoutOneDrive } from './login.js';

const onedrive: SinkContribution<OneDriveOptions> = {
  create: (options, ctx) => createOneDriveSink(options, ctx),
  login: (options, ctx) => loginOneDrive(options, ctx),
  logout: (options, ctx) => logoutOneDrive(options, ctx),
};

export default definePlugin({
  activate(ctx) {
    registerQuickXorHash();
    ctx.subscriptions.push(ctx.sinks.register('onedrive', onedrive));
  },
});
