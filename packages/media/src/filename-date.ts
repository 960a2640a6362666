import { isValidDateTime, type ParsedDate } from './dates.js';

interface FilenamePattern {
  re: RegExp;
  /** The camera writes UTC here (Pixel). */
  utc?: boolean;
}

/** media-formats.md §5.4, most specific first. iPhone names (IMG_1234) carry no date. */
const PATTERNS: FilenamePattern[] = [
  { re: /^PXL_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(\d{3})/, utc: true },
  { re: /^(?:IMG|VID|MVIMG|PANO|BURST\d*)_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/i },
  { re: /^Screenshot_(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/i },
  { re: /^Screenshot_(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})/i },
  { re: /^(\d{4})-(\d{2})-(\d{2}) (\d{2})\.(\d{2})\.(\d{2})/ },
  { re: /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})/ },
  { re: /^IMG-(\d{4})(\d{2})(\d{2})-WA\d+/i },
];

/**
 * A capture date from a file name, validated (real calendar date, year from 1990 to tomorrow).
 * Local wall time without an offset, except Pixel names, which are UTC.
 */
export function dateFromFilename(name: string, now = Date.now()): ParsedDate | undefined {
  const base = name.replace(/^.*[\\/]/, '');
  for (const p of PATTERNS) {
    const m = base.match(p.re);
    if (!m) continue;
    const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
    if (!isValidDateTime(y!, mo!, d!, h, mi, s) || s > 59 || y! < 1990) continue;
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${y}-${pad(mo!)}-${pad(d!)}T${pad(h)}:${pad(mi)}:${pad(s)}${m[7] ? `.${m[7]}` : ''}`;
    // Tomorrow is the limit: a file cannot be captured in the future (allowing for zones).
    if (Date.parse(`${local.slice(0, 19)}Z`) > now + 86_400_000) continue;
    return p.utc ? { local, offset: '+00:00' } : { local };
  }
  return undefined;
}
