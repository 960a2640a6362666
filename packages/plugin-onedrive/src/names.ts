import {
  type Asset,
  checkTemplate,
  KeepsakeError,
  primaryResource,
  renderTemplate,
  type Resource,
  type SanitizeOptions,
  sanitizeRelativePath,
  sanitizeSegment,
  splitName,
  templateValues,
  truncateUtf8,
} from '@keepsake/core';

/** OneDrive's name rules: `" * : < > ? / \ |` forbidden, no leading/trailing spaces, no trailing dot. */
export const ONEDRIVE_SANITIZE: SanitizeOptions = {
  forbidden: '"*:<>?|',
  trimTrailingDotsSpaces: true,
  windowsReserved: true,
  maxSegmentBytes: 255,
};

/** Longest path OneDrive accepts (decoded, from the drive root). */
export const MAX_PATH_CHARS = 400;

/**
 * Names OneDrive and SharePoint refuse besides Windows device names (handled by core): `.lock`,
 * `desktop.ini`, anything starting `~$`, anything containing `_vti_`.
 */
export function sanitizeOneDriveSegment(name: string): string {
  let s = sanitizeSegment(name, ONEDRIVE_SANITIZE);
  if (/^~\$/.test(s)) s = `_${s.slice(2)}`;
  s = s.replace(/_vti_/gi, '_vti-');
  if (/^\.lock$/i.test(s)) s = '_.lock';
  if (/^desktop\.ini$/i.test(s)) s = 'desktop_.ini';
  // A later replacement may have reintroduced trailing dots or spaces.
  return s.replace(/[. ]+$/, '') || '_';
}

/** The folder (drive-root relative, `/`-separated, no leading slash) a template renders for an asset. */
export function renderFolder(template: string, asset: Asset): string {
  const rendered = renderTemplate(template, templateValues(asset, primaryResource(asset)));
  return sanitizeRelativePath(rendered, ONEDRIVE_SANITIZE)
    .split('/')
    .filter(Boolean)
    .map(sanitizeOneDriveSegment)
    .join('/');
}

export function checkPathTemplate(template: string): void {
  checkTemplate(template, 'path');
}

/**
 * File name for one resource. Parts of one asset share the primary resource's base name (a Live
 * Photo's HEIC and MOV stay `IMG_0001.HEIC` + `IMG_0001.MOV`); edits and adjustments keep their own
 * base (IMG_E0001). `counter` > 1 adds ` (n)` for collisions, to every part alike.
 */
export function resourceFileName(asset: Asset, resource: Resource, counter = 1): string {
  const primary = primaryResource(asset);
  const own = splitName(resource.name);
  const sharesBase = resource.role === 'original' || resource.role === 'motion' || resource.role === 'derived';
  const base = sharesBase && primary ? splitName(primary.name).base : own.base;
  const suffix = counter > 1 ? ` (${counter})` : '';
  const ext = own.ext ? `.${own.ext}` : '';
  return sanitizeOneDriveSegment(`${base}${suffix}${ext}`);
}

/**
 * Joins folder and name, shortening the file's base name (never its extension) to keep the whole
 * path within {@link MAX_PATH_CHARS}. Throws NAME_UNSAFE when the folder alone is too long.
 */
export function fitPath(folder: string, name: string): string {
  const prefix = folder ? `${folder}/` : '';
  if (prefix.length + name.length <= MAX_PATH_CHARS) return prefix + name;
  const { base, ext } = splitName(name);
  const tail = ext ? `.${ext}` : '';
  const room = MAX_PATH_CHARS - prefix.length - tail.length;
  if (room < 8) {
    throw new KeepsakeError('NAME_UNSAFE', `OneDrive path "${prefix}" leaves no room for file names (limit ${MAX_PATH_CHARS} characters)`, {
      classification: 'permanent',
      hint: 'Use a shorter "path" template for the onedrive sink.',
    });
  }
  // Count UTF-16 code units like OneDrive; cut on a code-point boundary.
  let cut = '';
  for (const ch of base) {
    if (cut.length + ch.length > room) break;
    cut += ch;
  }
  return prefix + sanitizeOneDriveSegment(truncateUtf8(cut, 255) + tail);
}

/** `Pictures/keepsake/2024/05/IMG 1.HEIC` → `/root:/Pictures/keepsake/2024/05/IMG%201.HEIC:` */
export function itemPathSegment(path: string): string {
  return `root:/${path.split('/').map(encodeURIComponent).join('/')}:`;
}
