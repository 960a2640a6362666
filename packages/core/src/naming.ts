import type { Asset, CaptureDate, Resource } from './asset.js';
import { splitName } from './asset.js';
import { KeepsakeError } from './errors.js';

/**
 * Destination names: a template renders a folder path, then every segment is sanitised so no
 * source name can escape the destination or break a filesystem.
 *
 * Tokens: {yyyy} {yy} {MM} {dd} {HH} {mm} {ss} (capture date, local wall time; "unknown" when
 * there is none), {name} (base name without extension), {ext} (extension), {album}, {kind},
 * {source} (date rule). A literal brace is written `{{` or `}}`.
 */
export interface TemplateValues {
  capturedAt?: CaptureDate;
  name?: string;
  ext?: string;
  album?: string;
  kind?: string;
}

const TOKEN = /\{\{|\}\}|\{([A-Za-z]+)\}/g;
export const TEMPLATE_TOKENS = ['yyyy', 'yy', 'MM', 'dd', 'HH', 'mm', 'ss', 'name', 'ext', 'album', 'kind', 'source'] as const;

/** Throws OPTION_INVALID naming the unknown token, so a typo fails before anything runs. */
export function checkTemplate(template: string, option = 'template'): void {
  for (const m of template.matchAll(TOKEN)) {
    if (m[1] && !(TEMPLATE_TOKENS as readonly string[]).includes(m[1])) {
      throw new KeepsakeError('OPTION_INVALID', `Unknown token {${m[1]}} in ${option} "${template}"`, {
        stage: 'config',
        hint: `Use one of: ${TEMPLATE_TOKENS.map((t) => `{${t}}`).join(' ')}`,
      });
    }
  }
}

export function renderTemplate(template: string, v: TemplateValues): string {
  const d = v.capturedAt?.local.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/);
  const pick = (i: number) => (d ? d[i]! : 'unknown');
  return template.replace(TOKEN, (all, token: string | undefined) => {
    if (all === '{{') return '{';
    if (all === '}}') return '}';
    switch (token) {
      case 'yyyy':
        return pick(1);
      case 'yy':
        return d ? d[1]!.slice(2) : 'unknown';
      case 'MM':
        return pick(2);
      case 'dd':
        return pick(3);
      case 'HH':
        return pick(4);
      case 'mm':
        return pick(5);
      case 'ss':
        return pick(6);
      case 'name':
        return v.name ?? '';
      case 'ext':
        return v.ext ?? '';
      case 'album':
        return v.album ?? 'Unsorted';
      case 'kind':
        return v.kind ?? '';
      case 'source':
        return v.capturedAt?.source ?? 'unknown';
      default:
        return all;
    }
  });
}

/** Template values for one resource of an asset. */
export function templateValues(asset: Asset, resource?: Resource): TemplateValues {
  const parts = resource ? splitName(resource.name) : undefined;
  return { capturedAt: asset.capturedAt, name: parts?.base, ext: parts?.ext, album: asset.album, kind: asset.kind };
}

export interface SanitizeOptions {
  /** Max bytes of one path segment in UTF-8 (255 on most filesystems). */
  maxSegmentBytes?: number;
  /** Characters to replace besides `/`, `\` and control characters (Windows/OneDrive: `"*:<>?|`). */
  forbidden?: string;
  /** Strip trailing dots and spaces (Windows, OneDrive). */
  trimTrailingDotsSpaces?: boolean;
  /** Names reserved on Windows (CON, PRN, AUX, NUL, COM1…) get a `_` suffix. */
  windowsReserved?: boolean;
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
export const PORTABLE_SANITIZE: Required<SanitizeOptions> = {
  maxSegmentBytes: 255,
  forbidden: '"*:<>?|',
  trimTrailingDotsSpaces: true,
  windowsReserved: true,
};

/**
 * Makes one file or folder name safe: NFC-normalised, no separators, no control characters,
 * never `.`/`..`/empty, length-limited in UTF-8 bytes keeping the extension.
 */
export function sanitizeSegment(name: string, options: SanitizeOptions = PORTABLE_SANITIZE): string {
  const o = { ...PORTABLE_SANITIZE, ...options };
  let s = name.normalize('NFC');
  s = s.replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  if (o.forbidden) s = s.replace(new RegExp(`[${o.forbidden.replace(/[\]\\^-]/g, '\\$&')}]`, 'g'), '_');
  if (o.trimTrailingDotsSpaces) s = s.replace(/[. ]+$/, '');
  s = s.replace(/^\s+/, '');
  if (s === '' || s === '.' || s === '..') s = '_';
  if (/^\.+$/.test(s)) s = '_';
  if (o.windowsReserved && WINDOWS_RESERVED.test(s)) s = s.replace(/^([^.]*)/, '$1_');
  return truncateUtf8(s, o.maxSegmentBytes);
}

/** Truncates to `max` UTF-8 bytes on a code-point boundary, keeping the extension when it is short. */
export function truncateUtf8(s: string, max: number): string {
  const enc = new TextEncoder();
  if (enc.encode(s).byteLength <= max) return s;
  const { base, ext } = splitName(s);
  const tail = ext && enc.encode(ext).byteLength <= 16 ? `.${ext}` : '';
  const budget = max - enc.encode(tail).byteLength;
  let out = '';
  let used = 0;
  for (const ch of tail ? base : s) {
    const n = enc.encode(ch).byteLength;
    if (used + n > budget) break;
    out += ch;
    used += n;
  }
  return out + tail;
}

/**
 * Sanitises a relative path rendered from a template: every segment through {@link sanitizeSegment},
 * empty segments dropped; the result can never be absolute or climb out with `..`.
 */
export function sanitizeRelativePath(path: string, options?: SanitizeOptions): string {
  return path
    .split(/[\\/]+/)
    .filter((seg) => seg !== '' && seg !== '.')
    .map((seg) => sanitizeSegment(seg, options))
    .join('/');
}

/** Case- and normalisation-insensitive key for collision checks (IMG_0001.heic vs IMG_0001.HEIC, NFC vs NFD). */
export function collisionKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** `IMG_0001.HEIC` → `IMG_0001 (2).HEIC`. */
export function withCounter(name: string, n: number): string {
  const { base, ext } = splitName(name);
  return ext ? `${base} (${n}).${ext}` : `${base} (${n})`;
}
