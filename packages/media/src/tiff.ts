import { ByteReader, decodeLatin1, startsWithAscii } from './byte-reader.js';
import { malformed } from './malformed.js';
import type { RandomAccess } from './random-access.js';

/** A decoded TIFF value: text for ASCII, numbers for integers/rationals, bytes for UNDEFINED. */
export type TiffValue = string | number[] | Uint8Array;

interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** The 4-byte value/offset field as stored. */
  field: Uint8Array;
}

/** Byte size of each TIFF field type. */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
const MAX_ENTRIES = 2000;
/** A single value beyond this is corrupt for the tags we read (the MakerNote is ~1-4 KB). */
const MAX_VALUE_BYTES = 1 << 20;

/**
 * The TIFF parser is written once as a generator that asks for byte ranges (`offset`, `length`,
 * relative to the TIFF header) and gets them back, possibly shorter at the end of the data. One
 * driver answers from a buffer (JPEG APP1, HEIC Exif item, PNG eXIf, MakerNote), the other with
 * ranged reads of a file ({@link readTiffExif}), where IFDs can sit anywhere: ffmpeg and libtiff
 * write IFD0 after the image data. The number of requests is fixed by the tags read (header, three
 * directories, one value each), not by anything in the file.
 */
type TiffRead = { offset: number; length: number };
type TiffReader<T> = Generator<TiffRead, T, Uint8Array>;

function runOnBytes<T>(gen: TiffReader<T>, bytes: Uint8Array): T {
  let step = gen.next();
  while (!step.done) {
    const { offset, length } = step.value;
    step = gen.next(bytes.subarray(Math.min(offset, bytes.byteLength), Math.min(bytes.byteLength, offset + length)));
  }
  return step.value;
}

async function runOnAccess<T>(gen: TiffReader<T>, ra: RandomAccess, base: number): Promise<T> {
  let step = gen.next();
  while (!step.done) {
    const { offset, length } = step.value;
    step = gen.next(await ra.read(base + offset, length));
  }
  return step.value;
}

const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/**
 * One IFD at `offset`, or undefined when it lies outside `size` bytes or claims an absurd entry
 * count. A directory cut short by the end of the data keeps its complete entries.
 */
function* readIfd(offset: number, size: number, littleEndian: boolean): TiffReader<Map<number, IfdEntry> | undefined> {
  if (!Number.isSafeInteger(offset) || offset <= 0 || offset + 2 > size) return undefined;
  const head = yield { offset, length: 2 };
  if (head.byteLength < 2) return undefined;
  const count = viewOf(head).getUint16(0, littleEndian);
  if (count > MAX_ENTRIES) return undefined;
  const body = yield { offset: offset + 2, length: count * 12 };
  const v = viewOf(body);
  const entries = new Map<number, IfdEntry>();
  for (let at = 0; at + 12 <= body.byteLength; at += 12) {
    const tag = v.getUint16(at, littleEndian);
    if (!entries.has(tag)) entries.set(tag, { tag, type: v.getUint16(at + 2, littleEndian), count: v.getUint32(at + 4, littleEndian), field: body.subarray(at + 8, at + 12) });
  }
  return entries;
}

/** An entry's value; undefined when it points outside `size` bytes or has an unknown type. */
function* readIfdValue(e: IfdEntry | undefined, size: number, littleEndian: boolean): TiffReader<TiffValue | undefined> {
  const unit = e && TYPE_SIZE[e.type];
  if (!e || !unit) return undefined;
  const length = unit * e.count;
  if (length <= 4) return decodeValue(e, e.field.subarray(0, length), littleEndian);
  const offset = viewOf(e.field).getUint32(0, littleEndian);
  if (length > MAX_VALUE_BYTES || offset + length > size) return undefined;
  const bytes = yield { offset, length };
  return bytes.byteLength === length ? decodeValue(e, bytes, littleEndian) : undefined;
}

function decodeValue(e: IfdEntry, bytes: Uint8Array, littleEndian: boolean): TiffValue {
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
      const v = new ByteReader(bytes, 0, littleEndian);
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

/** The values of `tags` in one directory (absent when missing, out of bounds or of unknown type). */
function* readTags(entries: Map<number, IfdEntry> | undefined, tags: readonly number[], size: number, littleEndian: boolean): TiffReader<Map<number, TiffValue>> {
  const out = new Map<number, TiffValue>();
  if (!entries) return out;
  for (const tag of tags) {
    const v = yield* readIfdValue(entries.get(tag), size, littleEndian);
    if (v !== undefined) out.set(tag, v);
  }
  return out;
}

const IFD0_TAGS = [0x010f, 0x0110, 0x0131, 0x0112, 0x0132, 0x8769, 0x8825] as const;
const EXIF_TAGS = [0x9003, 0x9004, 0x9010, 0x9011, 0x9012, 0x9290, 0x9291, 0x9292, 0xa002, 0xa003, 0xa433, 0xa434, 0x927c] as const;
const GPS_TAGS = [0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x001d, 0x001f] as const;

/**
 * IFD0, the Exif IFD and the GPS IFD of a TIFF structure `size` bytes long (`base` is its file
 * offset, for error messages). Each directory is read at most once, so pointers that loop back
 * end there; the IFD0 → next-IFD chain is not followed (the tags keepsake needs are in IFD0).
 */
function* parseExif(size: number, base: number): TiffReader<ExifData> {
  const header = yield { offset: 0, length: 8 };
  let littleEndian: boolean;
  if (startsWithAscii(header, 'II*\0')) littleEndian = true;
  else if (startsWithAscii(header, 'MM\0*')) littleEndian = false;
  else throw malformed('Not a TIFF header', base);
  if (header.byteLength < 8) throw malformed('TIFF header is cut short', base);
  const ifd0Offset = viewOf(header).getUint32(4, littleEndian);
  const seen = new Set<number>();
  function* dir(offset: number | undefined): TiffReader<Map<number, IfdEntry> | undefined> {
    if (offset === undefined || seen.has(offset)) return undefined;
    seen.add(offset);
    return yield* readIfd(offset, size, littleEndian);
  }
  const ifd0Entries = yield* dir(ifd0Offset);
  if (!ifd0Entries) throw malformed('TIFF IFD0 is unreadable', base + ifd0Offset);
  const ifd0 = yield* readTags(ifd0Entries, IFD0_TAGS, size, littleEndian);
  const exifIfd = yield* readTags(yield* dir(num(ifd0.get(0x8769))), EXIF_TAGS, size, littleEndian);
  const gpsEntries = yield* dir(num(ifd0.get(0x8825)));
  const gpsIfd = yield* readTags(gpsEntries, GPS_TAGS, size, littleEndian);
  const out: ExifData = {
    littleEndian,
    make: str(ifd0.get(0x010f)),
    model: str(ifd0.get(0x0110)),
    software: str(ifd0.get(0x0131)),
    orientation: num(ifd0.get(0x0112)),
    modifyDate: str(ifd0.get(0x0132)),
    offsetTime: str(exifIfd.get(0x9010)),
    dateTimeOriginal: str(exifIfd.get(0x9003)),
    createDate: str(exifIfd.get(0x9004)),
    offsetTimeOriginal: str(exifIfd.get(0x9011)),
    offsetTimeDigitized: str(exifIfd.get(0x9012)),
    subSecTime: str(exifIfd.get(0x9290)),
    subSecTimeOriginal: str(exifIfd.get(0x9291)),
    subSecTimeDigitized: str(exifIfd.get(0x9292)),
    exifImageWidth: num(exifIfd.get(0xa002)),
    exifImageHeight: num(exifIfd.get(0xa003)),
    lensMake: str(exifIfd.get(0xa433)),
    lensModel: str(exifIfd.get(0xa434)),
  };
  const makerNote = exifIfd.get(0x927c);
  if (makerNote instanceof Uint8Array) {
    out.makerNote = makerNote;
    if (startsWithAscii(makerNote, 'Apple iOS\0')) out.apple = readAppleMakerNote(makerNote);
  }
  if (gpsEntries) out.gps = readGps((tag) => gpsIfd.get(tag));
  for (const k of Object.keys(out) as (keyof ExifData)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** Reads the EXIF fields keepsake needs from raw TIFF bytes (`MM\0*`/`II*\0`…) held in memory. */
export function readExif(tiff: Uint8Array): ExifData {
  return runOnBytes(parseExif(tiff.byteLength, 0), tiff);
}

/**
 * The same fields from a TIFF-structured file (TIFF, DNG/ProRAW) whose header is at `base`, with
 * small ranged reads: directories and values are fetched where they are, anywhere in the file.
 */
export function readTiffExif(ra: RandomAccess, base = 0): Promise<ExifData> {
  return runOnAccess(parseExif(Math.max(0, ra.size - base), base), ra, base);
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

const APPLE_TAGS = [0x0001, 0x000a, 0x000b, 0x0011, 0x0014, 0x0015, 0x0017, 0x0020, 0x002b, 0x002e] as const;

/**
 * Apple's MakerNote: "Apple iOS\0", u16 version, "MM"/"II", then a standard IFD at +14 whose
 * value offsets are relative to the MakerNote start (not the TIFF header).
 */
export function readAppleMakerNote(bytes: Uint8Array): AppleMakerNote {
  if (!startsWithAscii(bytes, 'Apple iOS\0') || bytes.byteLength < 16) return {};
  const littleEndian = startsWithAscii(bytes, 'II', 12);
  const size = bytes.byteLength;
  const values = runOnBytes(
    (function* () {
      return yield* readTags(yield* readIfd(14, size, littleEndian), APPLE_TAGS, size, littleEndian);
    })(),
    bytes,
  );
  const get = (tag: number) => values.get(tag);
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

