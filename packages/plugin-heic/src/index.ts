/**
 * @keepsake/plugin-heic — transform `heic-to-jpeg`: HEIC/HEIF → JPEG with EXIF (Orientation reset
 * to 1), ICC profile and XMP carried over, in a bounded worker-thread pool.
 * @packageDocumentation
 */
import { definePlugin } from '@keepsake/core';
import type { HeicToJpegOptions } from './options.js';
import { createHeicToJpegTransform, TRANSFORM_ID } from './transform.js';

export { type ConvertJob, type ConvertResult, convertHeicFile, type DecoderName, HeicDecodeError } from './convert.js';
export { chooseDecoder, type DecoderChoice, type DecoderLookup } from './decoder-choice.js';
export { decoderUnavailable, HEIC_DECODE_FAILED, HEIC_DECODER_UNAVAILABLE, heicDecodeFailed } from './errors.js';
export { rewriteExifForJpeg } from './exif-rewrite.js';
export { findHeifTools, type HeifTools } from './heif-convert-cli.js';
export { exifSegment, iccSegments, splitJpeg, withMetadataSegments, xmpSegment } from './jpeg-segments.js';
export { DEFAULT_OPTIONS, type HeicToJpegOptions } from './options.js';
export { ConversionPool } from './pool.js';
export { CONVERTER_VERSION, createHeicToJpegTransform, type HeicToJpegDeps, HeicToJpegTransform, isHeicResource, jpegName, TRANSFORM_ID } from './transform.js';

export default definePlugin({
  activate(ctx) {
    ctx.subscriptions.push(
      ctx.transforms.register(TRANSFORM_ID, {
        create: (options: HeicToJpegOptions, fctx) => createHeicToJpegTransform(options, { logger: fctx.logger, env: fctx.env }),
      }),
    );
  },
});
