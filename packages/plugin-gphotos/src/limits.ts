import { isVideoType, type Resource, SinkError } from '@keepsake/core';

/** Google Photos accepts photos up to 200 MB and videos up to 20 GB ("Upload media" limits). */
export const MAX_PHOTO_BYTES = 200 * 1024 * 1024;
export const MAX_VIDEO_BYTES = 20 * 1024 * 1024 * 1024;

/** Throws TOO_LARGE (permanent) before a byte is sent when Google would refuse the file. */
export function checkUploadSize(r: Resource, size: number, assetId: string): void {
  const video = isVideoType(r.mediaType);
  const limit = video ? MAX_VIDEO_BYTES : MAX_PHOTO_BYTES;
  if (size > limit) {
    throw SinkError.tooLarge(r.name, size, limit, {
      assetId,
      resource: r.key,
      stage: 'put',
      hint: `Google Photos takes ${video ? 'videos up to 20 GB' : 'photos up to 200 MB'}; this file was not uploaded. Keep it in another destination.`,
    });
  }
  if (size === 0) throw SinkError.writeFailed(`${r.name} is empty; Google Photos refuses empty files`, { assetId, resource: r.key, classification: 'permanent' });
}
