/**
 * @keepsake/plugin-icloud — the `icloud` sink. There is no public iCloud Photos upload API, so this
 * is a bridge: the iCloud for Windows Photos folder, Photos.app import on macOS, or a folder you
 * name. keepsake verifies the copy it hands over, not the upload to iCloud.
 * @packageDocumentation
 */
import { definePlugin, type SinkContribution } from '@keepsake/core';
import { ICloudSink, resolveBridge } from './icloud-sink.js';
import { ImportLog } from './import-log.js';
import { type ICloudOptions, normalizeICloudOptions } from './options.js';

export { type BridgeEnvironment, type ICloudBridge, ICloudSink, type ICloudSinkDeps, resolveBridge } from './icloud-sink.js';
export { type ICloudMode, type ICloudOptions, normalizeICloudOptions } from './options.js';
export { importIntoPhotos, PHOTOS_IMPORT_SCRIPT, photosImportArgs, type RunOsascript } from './photos-import.js';
export { detectWindowsICloudPhotosFolder, windowsICloudPhotosCandidates } from './windows-folder.js';

/** The `icloud` sink contribution. @public */
export const icloudSink: SinkContribution<ICloudOptions> = {
  async create(raw, fctx) {
    const options = normalizeICloudOptions(raw);
    const bridge = await resolveBridge(options, { platform: process.platform, env: fctx.env, configDir: fctx.configDir, storageDir: fctx.storageDir });
    const logger = fctx.logger.child({ sink: 'icloud' });
    logger.debug('icloud bridge', { ...bridge });
    const importLog = bridge.kind === 'photos-app' ? new ImportLog(fctx.storageDir, 'system-photo-library') : undefined;
    return new ICloudSink({ bridge, options, logger, importLog });
  },
};

export default definePlugin({
  activate(ctx) {
    ctx.sinks.register('icloud', icloudSink);
  },
});
