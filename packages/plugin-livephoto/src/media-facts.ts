import { KeepsakeError, type Resource } from '@keepsake/core';
import { exifCaptureDate, type ParsedDate, parseDateTime, type RandomAccess, randomAccessFromOpen, readMediaInfo, toInstant } from '@keepsake/media';

/** A capture time as read from one file: the wall time, and the instant when the zone is known. */
export interface CaptureTime {
  /** `YYYY-MM-DDTHH:mm:ss[.sss]` as shown on the phone; absent when only a UTC instant is known. */
  local?: string;
  /** ms since the epoch when the file recorded its UTC offset. */
  instantMs?: number;
}

/** What pairing needs from a resource; each field is absent when the file does not carry it. */
export interface LiveFacts {
  contentIdentifier?: string;
  captured?: CaptureTime;
}

export interface MotionFacts extends LiveFacts {
  /** Still frame position in the movie timeline (µs), from `com.apple.quicktime.still-image-time`. */
  stillImageTimeUs?: number;
  /** Movie duration in seconds. */
  durationSeconds?: number;
}

/** Random access over a resource's bytes: metadata reads fetch small ranges, never the whole file. */
export function resourceAccess(resource: Resource, signal?: AbortSignal): RandomAccess {
  if (resource.size === undefined) {
    throw new KeepsakeError('NOT_SUPPORTED', `${resource.name}: size unknown, so its metadata cannot be read in place`, {
      resource: resource.name,
      hint: 'Put live-pair before transforms that replace the still or the video.',
    });
  }
  return randomAccessFromOpen(resource.open, resource.size, signal);
}

function captureTime(parsed: ParsedDate | undefined): CaptureTime | undefined {
  if (!parsed) return undefined;
  return parsed.offset ? { local: parsed.local, instantMs: toInstant({ ...parsed, offset: parsed.offset }) } : { local: parsed.local };
}

/** ContentIdentifier (Apple MakerNote 0x0011) and DateTimeOriginal of a JPEG or HEIC still. */
export async function readStillFacts(resource: Resource, signal?: AbortSignal): Promise<LiveFacts> {
  // readMediaInfo sniffs the format from the bytes (a HEIC named .JPG is still read right) and
  // takes the identifier from the same place readContentIdentifier does, in one pass.
  const info = await readMediaInfo(resourceAccess(resource, signal));
  const { exif, contentIdentifier } = info;
  // DateTimeOriginal, else CreateDate, each with its own sub-seconds; the offset falls back to the
  // other OffsetTime* tags and then the GPS time, as for the asset's capture date.
  const captured = exif ? captureTime(exifCaptureDate(exif)) : undefined;
  return { ...(contentIdentifier ? { contentIdentifier } : {}), ...(captured ? { captured } : {}) };
}

/** content.identifier, creation date, still-image time and duration of a Live Photo MOV. */
export async function readMotionFacts(resource: Resource, signal?: AbortSignal): Promise<MotionFacts> {
  const info = await readMediaInfo(resourceAccess(resource, signal));
  const qt = info.quicktime;
  if (!qt) {
    throw new KeepsakeError('LIVEPHOTO_NOT_A_MOVIE', `${resource.name} is not a QuickTime/MP4 movie (found ${info.format})`, {
      resource: resource.name,
      hint: 'The Live Photo video is damaged or the source attached the wrong file.',
    });
  }
  // Apple's Keys creationdate is the capture wall time with its offset; mvhd (UTC) is the fallback.
  let captured = captureTime(parseDateTime(qt.creationDate));
  if (!captured && qt.movie?.creationTimeMs !== undefined) {
    captured = { instantMs: qt.movie.creationTimeMs };
  }
  return {
    ...(qt.contentIdentifier ? { contentIdentifier: qt.contentIdentifier } : {}),
    ...(captured ? { captured } : {}),
    ...(qt.stillImageTimeUs !== undefined ? { stillImageTimeUs: qt.stillImageTimeUs } : {}),
    ...(qt.movie ? { durationSeconds: qt.movie.duration } : {}),
  };
}

/**
 * Seconds between two capture times: instants when both know their zone, otherwise wall times
 * (a still without OffsetTimeOriginal and its MOV were shot in the same place). Undefined when
 * the two cannot be compared (a UTC-only movie time against a zoneless still).
 */
export function secondsApart(a: CaptureTime, b: CaptureTime): number | undefined {
  if (a.instantMs !== undefined && b.instantMs !== undefined) return Math.abs(a.instantMs - b.instantMs) / 1000;
  if (a.local !== undefined && b.local !== undefined) return Math.abs(wallMs(a.local) - wallMs(b.local)) / 1000;
  return undefined;
}

/** A wall time as if it were UTC: only differences of two such values mean anything. */
function wallMs(local: string): number {
  return Date.parse(`${local}Z`);
}
