import { isValidDateTime, type ParsedDate } from './dates.js';

interface FilenamePattern {
  re: RegExp;
  /** The camera writes UTC here (Pixel). */
  utc?: boolean;
  /** Group 7 is AM/PM (12-hour clock), not milliseconds. */
  meridiem?: boolean;
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
  // macOS "Screenshot 2023-01-15 at 12.34.56" (older "Screen Shot"; 12-hour locales add AM/PM, after a
  // narrow no-break space since macOS 13) and WhatsApp exports "WhatsApp Image 2023-01-15 at 09.08.07".
  { re: /^(?:Screen ?shot|WhatsApp (?:Image|Video)) (\d{4})-(\d{2})-(\d{2}) at (\d{1,2})\.(\d{2})\.(\d{2})(?:[ \u00a0\u202f]?([AP]M)\b)?/i, meridiem: true },
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
    const [y, mo, d, h24 = 0, mi = 0, s = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
    let h = h24;
    const half = p.meridiem ? m[7]?.toUpperCase() : undefined;
    if (half) {
      if (h < 1 || h > 12) continue;
      h = (h % 12) + (half === 'PM' ? 12 : 0);
    }
    if (!isValidDateTime(y!, mo!, d!, h, mi, s) || s > 59 || y! < 1990) continue;
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${y}-${pad(mo!)}-${pad(d!)}T${pad(h)}:${pad(mi)}:${pad(s)}${m[7] && !p.meridiem ? `.${m[7]}` : ''}`;
    // Tomorrow is the limit: a file cannot be captured in the future (allowing for zones).
    if (Date.parse(`${local.slice(0, 19)}Z`) > now + 86_400_000) continue;
    return p.utc ? { local, offset: '+00:00' } : { local };
  }
  return undefined;
}
