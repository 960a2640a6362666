/**
 * @keepsake/media — metadata readers that never decode pixels: HEIF/ISOBMFF item model, JPEG
 * segments, TIFF/EXIF + Apple MakerNote, QuickTime Keys and still-image time, capture dates, and
 * DCIM grouping, and where to find ffmpeg. All readers take a {@link RandomAccess} and read small ranges only.
 * @packageDocumentation
 */
export { type CameraRollFile, type CameraRollGroup, type CameraRollMember, classifyName, groupCameraRoll, isJunkName, type NameClass } from './camera-roll.js';
export { type CaptureDateInput, captureDateFrom, detectCaptureDate, exifCaptureDate, livePhotoCaptureDate } from './capture-date.js';
export { fromInstant, gpsInstant, instantAtOffset, normalizeOffset, offsetFromUtc, type ParsedDate, parseDateTime, toInstant } from './dates.js';
export { dateFromFilename } from './filename-date.js';
export { FFMPEG_INSTALL_HINT, type FfmpegOrigin, type ResolvedFfmpeg, resolveFfmpeg } from './ffmpeg-locate.js';
export {
  findProperty,
  type HeifExtent,
  type HeifFile,
  type HeifGrid,
  type HeifImageInfo,
  type HeifItem,
  type HeifProperty,
  type HeifPropertyLink,
  type HeifReference,
  heifImageInfo,
  isTiffHeader,
  itemProperties,
  itemsReferencing,
  readHeif,
  readHeifExif,
  readHeifGrid,
  readHeifIcc,
  readHeifXmp,
  readItemData,
  referencedItems,
  tiffFromExifItem,
} from './heif.js';
export { type Box, type FileType, isHeifBrand, readBoxHeader, readFileType, topLevelBoxes, walkBoxes } from './isobmff.js';
export { findJpegEnd, isJpeg, type JpegSegment, type JpegXmp, readJpegExif, readJpegIcc, readJpegSegments, readJpegXmp } from './jpeg.js';
export { MEDIA_MALFORMED, malformed } from './malformed.js';
export { type PngMetadata, readPngMetadata } from './png.js';
export { type MediaFormat, type MediaInfo, readContentIdentifier, readMediaInfo, sniffFormat } from './media-info.js';
export { type MovieHeader, parseIso6709, type QuickTimeMetadata, type QuickTimeTrack, readQuickTimeMetadata } from './quicktime.js';
export { MAX_METADATA_READ, type RandomAccess, randomAccessFromBytes, randomAccessFromFile, randomAccessFromOpen, withFile } from './random-access.js';
export { type AppleMakerNote, type ExifData, type GpsInfo, readAppleMakerNote, readExif, readTiffExif } from './tiff.js';
export { XMP_DATE_PROPERTIES, xmpProperty } from './xmp.js';
