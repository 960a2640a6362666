/**
 * @keepsake/plugin-gphotos — the `gphotos` sink: Google Photos Library API uploads with the user's
 * own OAuth client, batchCreate in batches of 50, app-created albums, quota-aware.
 * @packageDocumentation
 */
import { join } from 'node:path';
import { definePlugin, type SinkContribution, SinkError } from '@keepsake/core';
import { secretsFor } from '@keepsake/transport-cloud';
import { AlbumResolver } from './albums.js';
import { PhotosLibraryApi } from './api.js';
import { createPhotosClient, tokenStoreFor } from './client.js';
import { GPhotosSink } from './gphotos-sink.js';
import { loginGPhotos, logoutGPhotos } from './login.js';
import { type GPhotosOptions, normalizeGPhotosOptions } from './options.js';

export { AlbumResolver } from './albums.js';
export { type MediaItem, type NewMediaItemResult, PhotosLibraryApi } from './api.js';
export { BATCH_LIMIT, BatchCreator } from './batch-create.js';
export { createPhotosClient, detectGooglePhotosQuota, tokenStoreFor } from './client.js';
export { GPhotosSink, type GPhotosSinkDeps, type ItemState } from './gphotos-sink.js';
export { MAX_PHOTO_BYTES, MAX_VIDEO_BYTES } from './limits.js';
export { loginGPhotos, logoutGPhotos } from './login.js';
export { GPHOTOS_DEFAULTS, GPHOTOS_SCOPES, type GPhotosOptions, normalizeGPhotosOptions, tokenKey } from './options.js';

/** The `gphotos` sink contribution. @public */
export const gphotosSink: SinkContribution<GPhotosOptions> = {
  async create(raw, fctx) {
    const options = normalizeGPhotosOptions(raw);
    const logger = fctx.logger.child({ sink: 'gphotos' });
    const store = tokenStoreFor(options, await secretsFor(fctx));
    // fail before any bytes move when nobody signed in
    if (!(await store.load())) {
      throw SinkError.authRequired('gphotos', { stage: 'put', location: store.description });
    }
    const http = createPhotosClient(options, store, logger);
    const albums = options.album ? new AlbumResolver(new PhotosLibraryApi(http, options.endpoint), join(fctx.storageDir, `albums-${options.clientId}.json`)) : undefined;
    return new GPhotosSink({ options, http, logger, albums });
  },
  login: loginGPhotos,
  logout: logoutGPhotos,
};

export default definePlugin({
  activate(ctx) {
    ctx.sinks.register('gphotos', gphotosSink);
  },
});
