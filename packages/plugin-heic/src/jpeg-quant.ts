/**
 * libjpeg's quantisation tables for a quality setting (jcparam.c: the JPEG standard's Annex K
 * tables scaled by 5000/q below 50, 200 − 2q above, clamped to 1–255 for baseline JPEG). The ffmpeg
 * path hands them to ffmpeg's JPEG encoder so `quality` means what it means for libjpeg, sharp and
 * heif-convert.
 */

/** Annex K luminance table, natural (row-major) order. */
const LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24,
  35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/** Annex K chrominance table, natural order. */
const CHROMA = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, ...Array<number>(32).fill(99),
];

export interface QuantTables {
  luma: number[];
  chroma: number[];
}

/** The tables libjpeg's `jpeg_set_quality(quality, force_baseline = TRUE)` would use. */
export function libjpegQuantTables(quality: number): QuantTables {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - q * 2;
  const scaled = (table: number[]) => table.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
  return { luma: scaled(LUMA), chroma: scaled(CHROMA) };
}
