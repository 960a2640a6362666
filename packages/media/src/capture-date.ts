import type { CaptureDate, Diagnostic } from '@keepsake/core';
import { isKeepsakeError } from '@keepsake/core';
import { fromInstant, gpsInstant, normalizeOffset, offsetFromUtc, type ParsedDate, parseDateTime } from './dates.js';
import { dateFromFilename } from './filename-date.js';
import { type MediaInfo, readMediaInfo } from './media-info.js';
import type { ExifData } from './tiff.js';
import type { RandomAccess } from './random-access.js';
import { XMP_DATE_PROPERTIES, xmpProperty } from './xmp.js';

export interface CaptureDateInput {
  /** File name, for the filename-pattern fallback. */
  name: string;
  mediaType?: string;
  /** The file's bytes; without it only the name and mtime are used. */
  ra?: RandomAccess;
  mtimeMs?: number;
  /** Non-fatal findings (damaged metadata) go here, as `media:*` diagnostics. */
  onDiagnostic?(d: Diagnostic): void;
  /** Clock for the filename plausibility window (tests). */
  now?: number;
}

/** Earliest plausible `mvhd` creation time (1990); older values are unset or a wrong epoch. */
const MIN_MOVIE_MS = Date.UTC(1990, 0, 1);

const make = (p: ParsedDate, source: CaptureDate['source']): CaptureDate => (p.offset ? { local: p.local, offset: p.offset, source } : { local: p.local, source });

/**
 * Capture date by the precedence of media-formats.md §5.2/§5.3: EXIF DateTimeOriginal (+SubSec,
 * +OffsetTimeOriginal, else a GPS-derived offset), EXIF CreateDate, XMP, IFD0 ModifyDate, GPS UTC
 * time; for videos QuickTime Keys creationdate, then `mvhd` (UTC); then the file name, then mtime
 * (as UTC). Never assumes the host's time zone.
 */
export async function detectCaptureDate(input: CaptureDateInput): Promise<CaptureDate | undefined> {
  let info: MediaInfo | undefined;
  if (input.ra) {
    try {
      info = await readMediaInfo(input.ra);
      if (info.damage) {
        input.onDiagnostic?.({ level: 'warning', source: 'media:malformed', message: `Metadata of ${input.name} is partly damaged (${info.damage}); the readable part was used` });
      }
    } catch (err) {
      input.onDiagnostic?.({
        level: 'warning',
        source: 'media:malformed',
        message: `Could not read metadata of ${input.name}: ${isKeepsakeError(err) ? err.message : String(err)}`,
      });
    }
  }
  return captureDateFrom(info, input);
}

/** The same precedence applied to metadata already read with {@link readMediaInfo}. */
export function captureDateFrom(info: MediaInfo | undefined, input: Pick<CaptureDateInput, 'name' | 'mtimeMs' | 'now'>): CaptureDate | undefined {
  const fromMeta = info ? metadataDate(info) : undefined;
  if (fromMeta) return fromMeta;
  const fromName = dateFromFilename(input.name, input.now);
  if (fromName) return make(fromName, 'filename');
  if (input.mtimeMs !== undefined && Number.isFinite(input.mtimeMs)) return make(fromInstant(input.mtimeMs), 'mtime');
  return undefined;
}

/** The first of `offsets` that is a real UTC offset (a blank `   :  ` one must not hide the next). */
const firstOffset = (...offsets: (string | undefined)[]): string | undefined => offsets.find((o) => normalizeOffset(o) !== undefined);

/**
 * The capture time EXIF records: DateTimeOriginal (+SubSecTimeOriginal), else CreateDate
 * (+SubSecTimeDigitized). The offset is the tag's own (OffsetTimeOriginal / OffsetTimeDigitized),
 * else the other OffsetTime* tags (written together for one capture; exiftool's time-zone rule
 * does the same), else one derived from the GPS UTC time. Undefined when neither date is usable.
 */
export function exifCaptureDate(exif: ExifData): ParsedDate | undefined {
  const gpsUtc = gpsInstant(exif.gps?.dateStamp, exif.gps?.timeStamp);
  const withGpsOffset = (p: ParsedDate | undefined): ParsedDate | undefined => {
    if (!p || p.offset || gpsUtc === undefined) return p;
    const offset = offsetFromUtc(p.local, gpsUtc);
    return offset ? { ...p, offset } : p;
  };
  const opts = (subSec: string | undefined, offset: string | undefined) => ({ ...(subSec ? { subSec } : {}), ...(offset ? { offset } : {}) });
  return (
    withGpsOffset(parseDateTime(exif.dateTimeOriginal, opts(exif.subSecTimeOriginal, firstOffset(exif.offsetTimeOriginal, exif.offsetTimeDigitized, exif.offsetTime)))) ??
    withGpsOffset(parseDateTime(exif.createDate, opts(exif.subSecTimeDigitized, firstOffset(exif.offsetTimeDigitized, exif.offsetTimeOriginal, exif.offsetTime))))
  );
}

function metadataDate(info: MediaInfo): CaptureDate | undefined {
  const exif = info.exif;
  if (exif) {
    const captured = exifCaptureDate(exif);
    if (captured) return make(captured, 'exif');
  }
  if (info.xmp) {
    for (const prop of XMP_DATE_PROPERTIES) {
      const p = parseDateTime(xmpProperty(info.xmp, prop));
      if (p) return make(p, 'xmp');
    }
  }
  if (exif) {
    const modified = parseDateTime(exif.modifyDate, { subSec: exif.subSecTime, offset: firstOffset(exif.offsetTime, exif.offsetTimeOriginal, exif.offsetTimeDigitized) });
    if (modified) return make(modified, 'metadata');
    const gpsUtc = gpsInstant(exif.gps?.dateStamp, exif.gps?.timeStamp);
    if (gpsUtc !== undefined) return make(fromInstant(gpsUtc), 'gps');
  }
  const qt = info.quicktime;
  if (qt) {
    const keys = parseDateTime(qt.creationDate);
    if (keys) return make(keys, 'quicktime');
    const created = qt.movie?.creationTimeMs;
    if (created !== undefined && created >= MIN_MOVIE_MS && created <= Date.now() + 86_400_000) return make(fromInstant(created), 'metadata');
  }
  return undefined;
}

const fromMetadata = (d: CaptureDate | undefined): d is CaptureDate => !!d && d.source !== 'filename' && d.source !== 'mtime' && d.source !== 'unknown';

/**
 * One date for a Live Photo from its still's and its video's (media-formats.md §5.2/§5.3): the still's
 * metadata date wins; when it lacks an offset, the video's offset is used (same capture, seconds
 * apart); a still without a metadata date takes the video's (`source: 'partner'`). Falls back to the
 * still's own filename/mtime date.
 */
export function livePhotoCaptureDate(still: CaptureDate | undefined, motion: CaptureDate | undefined): CaptureDate | undefined {
  if (fromMetadata(still)) {
    if (still.offset || !fromMetadata(motion) || !motion.offset) return still;
    return { ...still, offset: motion.offset };
  }
  if (fromMetadata(motion)) return { ...motion, source: 'partner' };
  return still ?? motion;
}
