/**
 * Tolerant parsing of the date strings cameras write (EXIF `YYYY:MM:DD HH:MM:SS`, XMP/QuickTime
 * ISO 8601, Vision Pro `…GMT+2`) into a local wall time plus an optional UTC offset. Never uses
 * the host's time zone.
 */

export interface ParsedDate {
  /** `YYYY-MM-DDTHH:mm:ss` or `…ss.sss`. */
  local: string;
  /** `±HH:MM` when the string carried a zone. */
  offset?: string;
}

const DATE_TIME =
  /^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})(?:[T ]+(\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?)?\s*(Z|(?:GMT|UTC)?\s*[+-]\d{1,2}(?::?\d{2})?|GMT|UTC)?\s*$/i;

/** Latest plausible capture year is "now + 1 day"; earliest accepted is 1900 (pre-1970 is legal EXIF). */
const MIN_YEAR = 1900;

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** True when the calendar fields make a real date and time. */
export function isValidDateTime(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  return y >= MIN_YEAR && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo) && h >= 0 && h < 24 && mi >= 0 && mi < 60 && s >= 0 && s < 61;
}

/** Normalises `+0100`, `+01:00`, `+1`, `GMT+2`, `Z` to `±HH:MM`; undefined when not an offset or beyond ±14 h. */
export function normalizeOffset(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim().toUpperCase();
  if (s === 'Z' || s === 'GMT' || s === 'UTC') return '+00:00';
  const m = s.match(/^(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$/);
  if (!m) return undefined;
  const hours = Number(m[2]);
  const minutes = Number(m[3] ?? '0');
  if (minutes >= 60 || hours * 60 + minutes > 14 * 60) return undefined;
  return `${m[1]}${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
}

/** Offset in minutes from `±HH:MM`. */
export function offsetMinutes(offset: string): number {
  const sign = offset.startsWith('-') ? -1 : 1;
  return sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
}

export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Fraction digits → `.sss` (milliseconds, truncated), or '' when there are none. */
function fraction(digits: string | undefined): string {
  if (!digits || !/^\d+$/.test(digits)) return '';
  return `.${digits.slice(0, 3).padEnd(3, '0')}`;
}

/**
 * Parses a camera date string. Returns undefined for blanks, `0000:00:00 00:00:00` and impossible
 * dates. `subSec` (EXIF SubSecTime*) and `offset` (EXIF OffsetTime*) add what the string lacks.
 */
export function parseDateTime(raw: string | undefined, extra: { subSec?: string; offset?: string } = {}): ParsedDate | undefined {
  if (!raw) return undefined;
  const m = raw.match(DATE_TIME);
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? undefined : Number(v))) as number[];
  if (!isValidDateTime(y!, mo!, d!, h, mi, s)) return undefined;
  const pad = (n: number) => String(n).padStart(2, '0');
  const sec = Math.min(s, 59); // a leap second is kept as :59
  const local = `${m[1]}-${m[2]}-${m[3]}T${pad(h)}:${pad(mi)}:${pad(sec)}${fraction(m[7] ?? extra.subSec?.trim())}`;
  const offset = normalizeOffset(m[8]) ?? normalizeOffset(extra.offset);
  return offset ? { local, offset } : { local };
}

/** `local` + `offset` → UTC instant (ms). */
export function toInstant(date: ParsedDate & { offset: string }): number {
  return localToUtcMs(date.local) - offsetMinutes(date.offset) * 60_000;
}

/** Reads a `local` string as if it were UTC (for arithmetic only). */
export function localToUtcMs(local: string): number {
  return Date.parse(`${local}Z`);
}

/** A UTC instant as a `ParsedDate` with offset `+00:00`. */
export function fromInstant(ms: number): ParsedDate & { offset: string } {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  const local = iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
  return { local, offset: '+00:00' };
}

/** Shifts a UTC instant into a wall time at `offset`. */
export function instantAtOffset(ms: number, offset: string): ParsedDate & { offset: string } {
  return { local: fromInstant(ms + offsetMinutes(offset) * 60_000).local, offset };
}

/** EXIF GPSDateStamp + GPSTimeStamp → UTC instant (ms). */
export function gpsInstant(dateStamp: string | undefined, time: [number, number, number] | undefined): number | undefined {
  if (!dateStamp || !time) return undefined;
  const m = dateStamp.trim().match(/^(\d{4})[:-](\d{2})[:-](\d{2})$/);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = time;
  if (!isValidDateTime(y, mo, d, Math.floor(h), Math.floor(mi), Math.floor(s))) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, 0) + Math.round(s * 1000);
}

/**
 * Offset implied by a local wall time and the same moment's UTC time (EXIF DateTimeOriginal vs
 * GPS time), rounded to 15 minutes; undefined beyond ±14 h (clocks not in sync).
 */
export function offsetFromUtc(local: string, utcMs: number): string | undefined {
  const diffMin = (localToUtcMs(local) - utcMs) / 60_000;
  const rounded = Math.round(diffMin / 15) * 15;
  if (!Number.isFinite(rounded) || Math.abs(rounded) > 14 * 60) return undefined;
  // A GPS fix taken long before the shutter would produce a non-zone-like offset; require a near match.
  if (Math.abs(diffMin - rounded) > 2) return undefined;
  return formatOffset(rounded === 0 ? 0 : rounded);
}
