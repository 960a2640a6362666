/**
 * The asset model: one thing a person took (a photo, a video, a Live Photo) and the files
 * (resources) that make it up.
 */

export type AssetKind = 'photo' | 'video' | 'live' | 'other';

/**
 * - `original`: the still or video as shot (IMG_0001.HEIC)
 * - `motion`: the Live Photo video (IMG_0001.MOV)
 * - `edited`: an edited render (IMG_E0001.HEIC)
 * - `adjustments`: edit instructions (IMG_0001.AAE, IMG_O0001.AAE)
 * - `derived`: produced by a transform (IMG_0001.JPG from IMG_0001.HEIC)
 */
export type ResourceRole = 'original' | 'motion' | 'edited' | 'adjustments' | 'derived';

export interface OpenOptions {
  /** Start reading at this byte offset (resume). Default 0. */
  offset?: number;
  signal?: AbortSignal;
  /**
   * The consumer is done with a chunk once it asks for the next one (it hashes and writes, never
   * keeps one): the source may read later chunks into the same memory. A source that passes chunks
   * straight through may forward this; one that buffers or reads ahead on its own must not. Ignored
   * by sources that allocate per chunk anyway. Default false.
   */
  reuseChunks?: boolean;
}

/**
 * Re-openable bytes. Every call to `open` starts a fresh stream, so a retry or a resumed upload
 * re-reads from an offset instead of buffering.
 */
export type OpenResource = (options?: OpenOptions) => AsyncIterable<Uint8Array>;

export interface Resource {
  role: ResourceRole;
  /** File name with extension, no directories (IMG_0001.HEIC). */
  name: string;
  /**
   * Identifies the bytes within the source (a relative path, an AFC path, a backup file id).
   * Together with size and mtime it keys the ledger's hash cache, so reruns do not re-read bytes.
   */
  key: string;
  /** Size in bytes when known up front (always known for source resources). */
  size: number | undefined;
  /** Modification time in ms since the epoch, when the source knows it. */
  mtimeMs: number | undefined;
  /** IANA media type (image/heic, video/quicktime, …). */
  mediaType: string;
  open: OpenResource;
  /** sha256 (hex) of the bytes, filled by the pipeline before sinks run (never trust a plugin's claim). */
  sha256?: string;
  /** For derived resources: the `key` of the resource it was made from. */
  derivedFrom?: string;
}

export type CaptureDateSource =
  | 'exif'
  | 'xmp'
  | 'quicktime'
  | 'metadata'
  | 'gps'
  | 'filename'
  | 'mtime'
  | 'partner'
  | 'unknown';

/** When the asset was captured, as the wall-clock time where it was taken. */
export interface CaptureDate {
  /** Local wall time `YYYY-MM-DDTHH:mm:ss` (optionally `.sss`). */
  local: string;
  /** UTC offset `±HH:MM` when known; absent means "local time, zone unknown" (never the host's zone). */
  offset?: string;
  /** Which rule produced this date (EXIF DateTimeOriginal, QuickTime creation date, filename, mtime…). */
  source: CaptureDateSource;
}

export type DiagnosticLevel = 'error' | 'warning' | 'info';

/** A non-fatal finding attached to an asset (vfile-style), reported per item. */
export interface Diagnostic {
  level: DiagnosticLevel;
  /** `<plugin>:<rule>`, e.g. `livephoto:unpaired`. */
  source: string;
  message: string;
}

/** Extension point for plugins: `declare module '@keepsake/core' { interface AssetData { … } }`. */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by plugins through declaration merging.
export interface AssetData {}

export interface Asset {
  /** Stable within its source (e.g. `100APPLE/IMG_0001`). */
  id: string;
  kind: AssetKind;
  capturedAt?: CaptureDate;
  /** Live Photo pairing key (Apple ContentIdentifier). */
  contentIdentifier?: string;
  /** The files; a Live Photo has an `original` and a `motion` resource. */
  resources: Resource[];
  /** Names the asset had, oldest first: IMG_0001.HEIC → IMG_0001.JPG (vfile `history`). */
  history?: string[];
  /** Album/event name when the source knows one (for `{album}` templates). */
  album?: string;
  data?: AssetData & Record<string, unknown>;
  diagnostics?: Diagnostic[];
}

/** Splits `IMG_0001.HEIC` into `IMG_0001` and `HEIC`. */
export function splitName(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { base: name, ext: '' };
  return { base: name.slice(0, dot), ext: name.slice(dot + 1) };
}

/** The resource a sink names the asset after: the first original, else the first resource. */
export function primaryResource(asset: Asset): Resource | undefined {
  return asset.resources.find((r) => r.role === 'original') ?? asset.resources[0];
}

const MEDIA_TYPES: Record<string, string> = {
  heic: 'image/heic',
  heif: 'image/heif',
  hif: 'image/heif',
  avif: 'image/avif',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  dng: 'image/x-adobe-dng',
  mov: 'video/quicktime',
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  '3gp': 'video/3gpp',
  aae: 'application/x-apple-aae+xml',
};

/** Media type from a file name's extension; `application/octet-stream` when unknown. */
export function mediaTypeOf(name: string): string {
  return MEDIA_TYPES[splitName(name).ext.toLowerCase()] ?? 'application/octet-stream';
}

export function isVideoType(mediaType: string): boolean {
  return mediaType.startsWith('video/');
}

export function isImageType(mediaType: string): boolean {
  return mediaType.startsWith('image/');
}
