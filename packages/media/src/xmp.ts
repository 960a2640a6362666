/** Reads one simple property from an XMP packet, as an attribute or an element. */
export function xmpProperty(xmp: string, qname: string): string | undefined {
  const q = qname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const attr = xmp.match(new RegExp(`\\b${q}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`));
  if (attr) return (attr[1] ?? attr[2])?.trim() || undefined;
  const elem = xmp.match(new RegExp(`<${q}(?:\\s[^>]*)?>\\s*([^<]*?)\\s*</${q}>`));
  return elem?.[1] || undefined;
}

/** XMP date properties in capture-date precedence order (media-formats.md §5.2 step 3). */
export const XMP_DATE_PROPERTIES = ['exif:DateTimeOriginal', 'xmp:CreateDate', 'photoshop:DateCreated'] as const;
