/**
 * @keepsake/plugin-folder — the `folder` source (a camera roll or any folder tree) and the
 * `folder` sink (dated folders, atomic no-clobber writes, read-back verification).
 * @packageDocumentation
 */
import { definePlugin, type SinkContribution, type SourceContribution } from '@keepsake/core';
import { FolderSink } from './folder-sink.js';
import { FolderSource } from './folder-source.js';
import { checkSinkOptions, existingFolder, type FolderSinkConfig, type FolderSourceConfig } from './options.js';

export { FolderSink, type FolderSinkOptions } from './folder-sink.js';
export { FolderSource, type FolderSourceOptions } from './folder-source.js';
export { compileGlob, type PathFilter, pathFilter } from './glob.js';
export { FOLDER_SINK_DEFAULTS, type FolderSinkConfig, type FolderSourceConfig } from './options.js';
export { nameWithCounter } from './unique-name.js';

/** The `folder` source contribution. @public */
export const folderSource: SourceContribution<FolderSourceConfig> = {
  async create(options, fctx) {
    const root = await existingFolder(options.path, fctx.configDir, 'source');
    return new FolderSource({
      root,
      storageDir: fctx.storageDir,
      recursive: options.recursive ?? true,
      include: options.include,
      exclude: options.exclude,
      logger: fctx.logger.child({ source: 'folder' }),
    });
  },
};

/** The `folder` sink contribution. @public */
export const folderSink: SinkContribution<FolderSinkConfig> = {
  async create(options, fctx) {
    const o = checkSinkOptions(options);
    const root = await existingFolder(o.path, fctx.configDir, 'sink');
    return new FolderSink({ root, template: o.template, offsite: o.offsite, verify: o.verify, logger: fctx.logger.child({ sink: 'folder' }) });
  },
};

export default definePlugin({
  activate(ctx) {
    ctx.subscriptions.push(ctx.sources.register('folder', folderSource));
    ctx.subscriptions.push(ctx.sinks.register('folder', folderSink));
  },
});
