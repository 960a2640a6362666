import type { AssetKind, Diagnostic, ResourceRole } from '@keepsake/core';
import { collisionKey, isImageType, isVideoType, mediaTypeOf, splitName } from '@keepsake/core';

/** Files and folders operating systems leave behind; never user content. */
const JUNK_NAMES = new Set(['.ds_store', 'thumbs.db', 'desktop.ini', '.spotlight-v100', '.trashes', '.fseventsd', '.temporaryitems', 'ehthumbs.db']);

/** True for OS junk (`.DS_Store`, `Thumbs.db`, `._IMG_0001.HEIC`, keepsake's own temp files). */
export function isJunkName(name: string): boolean {
  const lower = name.toLowerCase();
  return JUNK_NAMES.has(lower) || name.startsWith('._') || name.startsWith('.keepsake-partial-');
}

/** What a file name says about its place in a DCIM capture (media-formats.md §6). */
export interface NameClass {
  /** Name shared by every file of one capture: `IMG_E0001.HEIC` → `IMG_0001`. */
  stem: string;
  /** `E` = edited render (IMG_E0001), `O` = original adjustments (IMG_O0001.AAE). */
  variant: 'plain' | 'edited' | 'original-adjustments';
  category: 'image' | 'video' | 'adjustments' | 'other';
}

const APPLE_VARIANT = /^(IMG_)([EO])(\d{4})$/i;

export function classifyName(name: string): NameClass {
  const { base, ext } = splitName(name);
  const lowerExt = ext.toLowerCase();
  const type = mediaTypeOf(name);
  const category: NameClass['category'] = lowerExt === 'aae' ? 'adjustments' : isImageType(type) ? 'image' : isVideoType(type) ? 'video' : 'other';
  const m = base.match(APPLE_VARIANT);
  if (m) {
    const stem = `${m[1]}${m[3]}`;
    const letter = m[2]!.toUpperCase();
    if (letter === 'E' && category !== 'adjustments') return { stem, variant: 'edited', category };
    if (letter === 'O' && category === 'adjustments') return { stem, variant: 'original-adjustments', category };
  }
  return { stem: base, variant: 'plain', category };
}

export interface CameraRollFile {
  /** Path relative to the scanned root, `/`-separated. */
  path: string;
  name: string;
  size: number;
  mtimeMs: number;
}

export interface CameraRollMember<F extends CameraRollFile = CameraRollFile> {
  file: F;
  role: ResourceRole;
}

export interface CameraRollGroup<F extends CameraRollFile = CameraRollFile> {
  /** Folder of the files (`DCIM/100APPLE`, '' for the root). */
  folder: string;
  /** Shared stem (`IMG_0001`). */
  stem: string;
  kind: AssetKind;
  /** Primary first (the original still, else the video, else whatever is there). */
  members: CameraRollMember<F>[];
  diagnostics: Diagnostic[];
}

function folderOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

/** Stills first in the order iPhones write them, so the HEIC/JPEG is the primary. */
const IMAGE_ORDER = ['heic', 'heif', 'jpg', 'jpeg', 'dng', 'png'];
const rank = (name: string) => {
  const i = IMAGE_ORDER.indexOf(splitName(name).ext.toLowerCase());
  return i === -1 ? IMAGE_ORDER.length : i;
};
const byName = (a: CameraRollFile, b: CameraRollFile) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Groups a camera roll's files into captures: IMG_0001.HEIC + IMG_0001.MOV (Live Photo motion) +
 * IMG_E0001.HEIC (edited) + IMG_0001.AAE / IMG_O0001.AAE (adjustments). Grouping is per folder,
 * because numbers wrap and repeat across 100APPLE/101APPLE. Extensions are case-insensitive. OS
 * junk is dropped. A stray AAE becomes its own `other` asset with a warning, never silently lost.
 */
export function groupCameraRoll<F extends CameraRollFile>(files: Iterable<F>): CameraRollGroup<F>[] {
  const buckets = new Map<string, { folder: string; stem: string; files: F[] }>();
  for (const f of files) {
    if (isJunkName(f.name) || f.path.split('/').some(isJunkName)) continue;
    const folder = folderOf(f.path);
    const { stem } = classifyName(f.name);
    const key = `${folder}\0${collisionKey(stem)}`;
    const b = buckets.get(key);
    if (b) b.files.push(f);
    else buckets.set(key, { folder, stem, files: [f] });
  }
  const groups: CameraRollGroup<F>[] = [];
  for (const b of buckets.values()) groups.push(...groupsForStem(b.folder, b.stem, b.files));
  groups.sort((a, b) => (a.folder === b.folder ? (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0) : a.folder < b.folder ? -1 : 1));
  return groups;
}

/** Role decisions for the files sharing one stem in one folder. */
function groupsForStem<F extends CameraRollFile>(folder: string, stem: string, files: F[]): CameraRollGroup<F>[] {
  const sorted = [...files].sort(byName);
  const cls = new Map(sorted.map((f) => [f, classifyName(f.name)]));
  const plain = (c: NameClass['category']) => sorted.filter((f) => cls.get(f)!.variant === 'plain' && cls.get(f)!.category === c);
  const stills = plain('image').sort((a, b) => rank(a.name) - rank(b.name) || byName(a, b));
  const videos = plain('video');
  const edited = sorted.filter((f) => cls.get(f)!.variant === 'edited');
  const adjustments = sorted.filter((f) => cls.get(f)!.category === 'adjustments');
  const others = plain('other');
  const groups: CameraRollGroup<F>[] = [];

  // Files whose names differ only by case (possible on case-sensitive disks) are distinct files:
  // each extra one becomes its own asset instead of being merged or dropped.
  const seen = new Set<string>();
  const dupes: F[] = [];
  const unique = (list: F[]) =>
    list.filter((f) => {
      const k = collisionKey(f.name);
      if (seen.has(k)) {
        dupes.push(f);
        return false;
      }
      seen.add(k);
      return true;
    });
  const s = unique(stills);
  const v = unique(videos);
  const e = unique(edited);
  const a = unique(adjustments);
  const o = unique(others);

  const members: CameraRollMember<F>[] = [];
  const diagnostics: Diagnostic[] = [];
  let kind: AssetKind;
  if (s.length > 0) {
    for (const f of s) members.push({ file: f, role: 'original' });
    // A still with a same-named video is a Live Photo; one video is the motion, extra ones stay originals.
    for (const [i, f] of v.entries()) members.push({ file: f, role: i === 0 ? 'motion' : 'original' });
    kind = v.length > 0 ? 'live' : 'photo';
  } else if (v.length > 0) {
    for (const f of v) members.push({ file: f, role: 'original' });
    kind = 'video';
  } else if (e.length > 0) {
    kind = e.some((f) => cls.get(f)!.category === 'image') ? 'photo' : 'video';
    diagnostics.push({ level: 'info', source: 'media:edited-without-original', message: `Edited render ${e[0]!.name} has no original next to it in ${folder || '.'}` });
  } else {
    kind = 'other';
  }
  for (const f of e) members.push({ file: f, role: 'edited' });
  for (const f of a) members.push({ file: f, role: 'adjustments' });
  if (members.length > 0 && s.length === 0 && v.length === 0 && e.length === 0) {
    diagnostics.push({ level: 'warning', source: 'media:stray-aae', message: `Adjustments ${a.map((f) => f.name).join(', ')} have no photo or video next to them in ${folder || '.'}` });
  }
  if (members.length > 0) groups.push({ folder, stem, kind, members, diagnostics });
  // Non-media files sharing the stem (IMG_0001.txt) are kept, each as its own asset.
  for (const f of o) groups.push({ folder, stem: splitName(f.name).base, kind: 'other', members: [{ file: f, role: 'original' }], diagnostics: [] });
  for (const f of dupes) {
    const c = cls.get(f)!;
    groups.push({
      folder,
      stem: splitName(f.name).base,
      kind: c.category === 'image' ? 'photo' : c.category === 'video' ? 'video' : 'other',
      members: [{ file: f, role: c.variant === 'edited' ? 'edited' : c.category === 'adjustments' ? 'adjustments' : 'original' }],
      diagnostics: [{ level: 'warning', source: 'media:case-duplicate', message: `${f.name} differs from another file in ${folder || '.'} only by letter case` }],
    });
  }
  return groups;
}
