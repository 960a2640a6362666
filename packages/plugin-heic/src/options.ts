/** Options of the `heic-to-jpeg` transform (schema and defaults in package.json `keepsake`). */
export interface HeicToJpegOptions {
  /** JPEG quality 1–100. Default 92. */
  quality?: number;
  /** `both` (default): keep the HEIC and add the JPEG. `converted`: the JPEG replaces the HEIC. */
  keep?: 'both' | 'converted';
  /**
   * `auto` (default): ffmpeg when installed (fastest), else native heif-convert, else the bundled
   * libheif wasm. `ffmpeg`, `native` and `wasm` force one (ffmpeg still hands the images it does
   * not take, such as 10-bit ones, to heif-convert or wasm).
   */
  decoder?: 'auto' | 'wasm' | 'native' | 'ffmpeg';
  /** Conversions at once (worker threads). Default: the number of cores. */
  concurrency?: number;
  /** Path of heif-convert when not on PATH (or set HEIF_CONVERT_PATH). */
  heifConvertPath?: string;
}

export type ResolvedOptions = Required<Omit<HeicToJpegOptions, 'heifConvertPath' | 'concurrency'>> & Pick<HeicToJpegOptions, 'heifConvertPath' | 'concurrency'>;

export const DEFAULT_OPTIONS = { quality: 92, keep: 'both', decoder: 'auto' } as const;

export function resolveOptions(options: HeicToJpegOptions = {}): ResolvedOptions {
  return { ...DEFAULT_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedOptions;
}
