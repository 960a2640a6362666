import { ByteReader, decodeLatin1, startsWithAscii } from './byte-reader.js';
import { malformed } from './malformed.js';

/** A decoded TIFF value: text for ASCII, numbers for integers/rationals, bytes for UNDEFINED. */
export type TiffValue = string | number[] | Uint8Array;

export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** Offset of the value bytes relative to the TIFF (or MakerNote) base. */
  valueOffset: number;
}

/** Byte size of each TIFF field type. */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
const MAX_ENTRIES = 2000;
/** A single value beyond this is corrupt for the tags we read (the MakerNote is ~1-4 KB). */
const MAX_VALUE_BYTES = 1 << 20;

/**
 * Reads one IFD at `ifdOffset` (relative to `r`'s start). Entry values are resolved lazily through
 * {@link readIfdValue}; offsets are relative to `r`'s start.
 */
export function readIfd(r: ByteReader, ifdOffset: number): { entries: Map<number, IfdEntry>; next: number } {
  r.need(2, ifdOffset);
  r.pos = ifdOffset;
  const count = r.u16();
  if (count > MAX_ENTRIES) throw malformed(`TIFF directory with ${count} entries`, r.base + ifdOffset);
  const entries = new Map<number, IfdEntry>();
  for (let i = 0; i < count; i++) {
    if (r.remaining < 12) break; // truncated directory: keep what we have
    const tag = r.u16();
    const type = r.u16();
    const n = r.u32();
    const size = (TYPE_SIZE[type] ?? 0) * n;
    const valueOffset = size <= 4 ? r.pos : r.u32();
    if (size <= 4) r.skip(4);
    if (!entries.has(tag)) entries.set(tag, { tag, type, count: n, valueOffset });
  }
  const next = r.remaining >= 4 ? r.u32() : 0;
  return { entries, next };
}

/** Decodes an entry's value; undefined when it points outside the data or has an unknown type. */
export function readIfdValue(r: ByteReader, e: IfdEntry): TiffValue | undefined {
  const unit = TYPE_SIZE[e.type];
  if (!unit) return undefined;
  const size = unit * e.count;
  if (size > MAX_VALUE_BYTES || e.valueOffset < 0 || e.valueOffset + size > r.length) return undefined;
  const bytes = r.bytes.subarray(e.valueOffset, e.valueOffset + size);
  const v = new ByteReader(bytes, r.base + e.valueOffset, r.littleEndian);
  switch (e.type) {
    case 2: {
      const nul = bytes.indexOf(0);
      const text = bytes.subarray(0, nul === -1 ? bytes.byteLength : nul);
      // ASCII by spec, UTF-8 in practice (Windows/phone apps); fall back to Latin-1 when invalid.
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(text);
      } catch {
        return decodeLatin1(text);
      }
    }
    case 7:
      return bytes;
    default: {
      const out: number[] = [];
      for (let i = 0; i < e.count; i++) {
        switch (e.type) {
          case 1:
            out.push(v.u8());
            break;
          case 6:
            out.push(v.i8());
            break;
          case 3:
            out.push(v.u16());
            break;
          case 8:
            out.push(v.i16());
            break;
          case 4:
          case 13:
            out.push(v.u32());
            break;
          case 9:
            out.push(v.i32());
            break;
          case 5: {
            const num = v.u32();
            const den = v.u32();
            out.push(den === 0 ? Number.NaN : num / den);
            break;
          }
          case 10: {
            const num = v.i32();
            const den = v.i32();
            out.push(den === 0 ? Number.NaN : num / den);
            break;
          }
          case 11:
            out.push(v.f32());
            break;
          case 12:
            out.push(v.f64());
            break;
        }
      }
      return out;
    }
  }
}

/** Apple MakerNote fields keepsake uses (see media-formats.md §2.3). */
export interface AppleMakerNote {
  makerNoteVersion?: number;
  /** 0x0011: Live Photo pairing key (= MOV `com.apple.quicktime.content.identifier`). */
  contentIdentifier?: string;
  /** 0x000B: shared by all frames of one burst. */
  burstUuid?: string;
  /** 0x0014 */
  imageCaptureType?: number;
  /** 0x0015 */
  imageUniqueId?: string;
  /** 0x0017: opaque, not a time. */
  livePhotoVideoIndex?: number;
  /** 0x0020 */
  imageCaptureRequestId?: string;
  /** 0x002B */
  photoIdentifier?: string;
  /** 0x002E */
  cameraType?: number;
  /** 0x000A */
  hdrImageType?: number;
}

export interface GpsInfo {
  /** Signed decimal degrees (S/W negative). */
  latitude?: number;
  longitude?: number;
  /** Metres; negative below sea level. */
  altitude?: number;
  /** `YYYY:MM:DD` (UTC). */
  dateStamp?: string;
  /** [hours, minutes, seconds] UTC. */
  timeStamp?: [number, number, number];
  horizontalError?: number;
}

export interface ExifData {
  littleEndian: boolean;
  make?: string;
  model?: string;
  software?: string;
  orientation?: number;
  /** IFD0 0x0132 (raw string). */
  modifyDate?: string;
  dateTimeOriginal?: string;
  createDate?: string;
  subSecTime?: string;
  subSecTimeOriginal?: string;
  subSecTimeDigitized?: string;
  offsetTime?: string;
  offsetTimeOriginal?: string;
  offsetTimeDigitized?: string;
  exifImageWidth?: number;
  exifImageHeight?: number;
  lensMake?: string;
  lensModel?: string;
  gps?: GpsInfo;
  apple?: AppleMakerNote;
  /** Raw MakerNote bytes when present (for other vendors). */
  makerNote?: Uint8Array;
}

const str = (v: TiffValue | undefined): string | undefined => {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
};
const num = (v: TiffValue | undefined): number | undefined => (Array.isArray(v) && v.length > 0 && Number.isFinite(v[0]) ? v[0] : undefined);

/** Reads the EXIF fields keepsake needs from raw TIFF bytes (`MM\0*`/`II*\0`…). */
export function readExif(tiff: Uint8Array): ExifData {
  let littleEndian: boolean;
  if (startsWithAscii(tiff, 'II*\0')) littleEndian = true;
  else if (startsWithAscii(tiff, 'MM\0*')) littleEndian = false;
  else throw malformed('Not a TIFF header', 0);
  const r = new ByteReader(tiff, 0, littleEndian);
  r.pos = 4;
  const ifd0Offset = r.u32();
  const seen = new Set<number>();
  const dir = (offset: number) => {
    if (offset === 0 || seen.has(offset) || offset >= tiff.byteLength) return undefined;
    seen.add(offset);
    try {
      return readIfd(r, offset).entries;
    } catch {
      return undefined;
    }
  };
  const get = (entries: Map<number, IfdEntry> | undefined, tag: number) => {
    const e = entries?.get(tag);
    return e ? readIfdValue(r, e) : undefined;
  };
  const ifd0 = dir(ifd0Offset);
  if (!ifd0) throw malformed('TIFF IFD0 is unreadable', ifd0Offset);
  const exifIfd = dir(num(get(ifd0, 0x8769)) ?? 0);
  const gpsIfd = dir(num(get(ifd0, 0x8825)) ?? 0);
  const out: ExifData = {
    littleEndian,
    make: str(get(ifd0, 0x010f)),
    model: str(get(ifd0, 0x0110)),
    software: str(get(ifd0, 0x0131)),
    orientation: num(get(ifd0, 0x0112)),
    modifyDate: str(get(ifd0, 0x0132)),
    offsetTime: str(get(exifIfd, 0x9010)),
    dateTimeOriginal: str(get(exifIfd, 0x9003)),
    createDate: str(get(exifIfd, 0x9004)),
    offsetTimeOriginal: str(get(exifIfd, 0x9011)),
    offsetTimeDigitized: str(get(exifIfd, 0x9012)),
    subSecTime: str(get(exifIfd, 0x9290)),
    subSecTimeOriginal: str(get(exifIfd, 0x9291)),
    subSecTimeDigitized: str(get(exifIfd, 0x9292)),
    exifImageWidth: num(get(exifIfd, 0xa002)),
    exifImageHeight: num(get(exifIfd, 0xa003)),
    lensMake: str(get(exifIfd, 0xa433)),
    lensModel: str(get(exifIfd, 0xa434)),
  };
  const makerNote = get(exifIfd, 0x927c);
  if (makerNote instanceof Uint8Array) {
    out.makerNote = makerNote;
    if (startsWithAscii(makerNote, 'Apple iOS\0')) out.apple = readAppleMakerNote(makerNote);
  }
  if (gpsIfd) out.gps = readGps((tag) => get(gpsIfd, tag));
  for (const k of Object.keys(out) as (keyof ExifData)[]) if (out[k] === undefined) delete out[k];
  return out;
}

function readGps(get: (tag: number) => TiffValue | undefined): GpsInfo | undefined {
  const gps: GpsInfo = {};
  const dms = (v: TiffValue | undefined) => (Array.isArray(v) && v.length === 3 && v.every(Number.isFinite) ? v[0]! + v[1]! / 60 + v[2]! / 3600 : undefined);
  const lat = dms(get(0x0002));
  const lon = dms(get(0x0004));
  // 0,0 means "no fix" in practice (Vision Pro), not the Gulf of Guinea.
  if (lat !== undefined && lon !== undefined && !(lat === 0 && lon === 0)) {
    gps.latitude = str(get(0x0001))?.toUpperCase() === 'S' ? -lat : lat;
    gps.longitude = str(get(0x0003))?.toUpperCase() === 'W' ? -lon : lon;
    const alt = num(get(0x0006));
    if (alt !== undefined) {
      const ref = get(0x0005);
      const below = Array.isArray(ref) ? ref[0] === 1 : ref instanceof Uint8Array ? ref[0] === 1 : false;
      gps.altitude = below ? -alt : alt;
    }
  }
  const date = str(get(0x001d));
  if (date) gps.dateStamp = date;
  const time = get(0x0007);
  if (Array.isArray(time) && time.length === 3 && time.every(Number.isFinite)) gps.timeStamp = [time[0]!, time[1]!, time[2]!];
  const err = num(get(0x001f));
  if (err !== undefined) gps.horizontalError = err;
  return Object.keys(gps).length > 0 ? gps : undefined;
}

/**
 * Apple's MakerNote: "Apple iOS\0", u16 version, "MM"/"II", then a standard IFD at +14 whose
 * value offsets are relative to the MakerNote start (not the TIFF header).
 */
export function readAppleMakerNote(bytes: Uint8Array): AppleMakerNote {
  if (!startsWithAscii(bytes, 'Apple iOS\0') || bytes.byteLength < 16) return {};
  const littleEndian = startsWithAscii(bytes, 'II', 12);
  const r = new ByteReader(bytes, 0, littleEndian);
  let entries: Map<number, IfdEntry>;
  try {
    entries = readIfd(r, 14).entries;
  } catch {
    return {};
  }
  const get = (tag: number) => {
    const e = entries.get(tag);
    return e ? readIfdValue(r, e) : undefined;
  };
  const out: AppleMakerNote = {
    makerNoteVersion: num(get(0x0001)),
    hdrImageType: num(get(0x000a)),
    burstUuid: str(get(0x000b)),
    contentIdentifier: str(get(0x0011)),
    imageCaptureType: num(get(0x0014)),
    imageUniqueId: str(get(0x0015)),
    livePhotoVideoIndex: num(get(0x0017)),
    imageCaptureRequestId: str(get(0x0020)),
    photoIdentifier: str(get(0x002b)),
    cameraType: num(get(0x002e)),
  };
  for (const k of Object.keys(out) as (keyof AppleMakerNote)[]) if (out[k] === undefined) delete out[k];
  return out;
}

