/**
 * A Motion Photo HEIC (Samsung, Pixel: media-formats.md §4.3) describes its appended video in its
 * XMP: `Camera:MotionPhoto=1` and a `Container:Directory` whose items give the HEIC's and the
 * MP4's byte lengths. The JPEG made from it carries only the still, so that XMP would claim a
 * video that is not there (readers compute EOF − Length and land inside the JPEG). These
 * properties are removed from the packet the JPEG gets; everything else in it is kept as written.
 */

const CAMERA_NS = 'http://ns.google.com/photos/1.0/camera/';
const CONTAINER_NS = 'http://ns.google.com/photos/1.0/container/';

/** Camera-namespace properties that say "a video is appended" (format 1.0 and legacy MicroVideo). */
const CAMERA_PROPERTIES = [
  'MotionPhoto',
  'MotionPhotoVersion',
  'MotionPhotoPresentationTimestampUs',
  'MicroVideo',
  'MicroVideoVersion',
  'MicroVideoOffset',
  'MicroVideoPresentationTimestampUs',
];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Prefixes the packet binds to `uri` (writers pick them freely: `Camera`, `GCamera`, …). */
function prefixesOf(xmp: string, uri: string): string[] {
  const out = new Set<string>();
  for (const m of xmp.matchAll(/xmlns:([A-Za-z_][\w.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    if ((m[3] ?? m[4]) === uri) out.add(m[1]!);
  }
  return [...out];
}

/** Removes `prefix:name` written as an attribute or as an element (empty or with content). */
function removeProperty(xmp: string, qname: string): string {
  const q = escapeRegExp(qname);
  return xmp
    .replace(new RegExp(`\\s+${q}\\s*=\\s*("[^"]*"|'[^']*')`, 'g'), '')
    .replace(new RegExp(`<${q}(\\s[^>]*)?/>`, 'g'), '')
    .replace(new RegExp(`<${q}(\\s[^>]*)?>[\\s\\S]*?</${q}\\s*>`, 'g'), '');
}

/**
 * The packet without Motion Photo / MicroVideo properties and without the Container directory;
 * `removed` says whether there was any.
 */
export function withoutMotionPhotoXmp(xmp: string): { xmp: string; removed: boolean } {
  let out = xmp;
  for (const prefix of prefixesOf(xmp, CAMERA_NS)) {
    for (const name of CAMERA_PROPERTIES) out = removeProperty(out, `${prefix}:${name}`);
  }
  for (const prefix of prefixesOf(xmp, CONTAINER_NS)) out = removeProperty(out, `${prefix}:Directory`);
  return { xmp: out, removed: out !== xmp };
}
