/**
 * Structural checks on a HEIC before decoding, using @keepsake/media's item parser: is there a
 * primary image, and do its coded bytes (and a grid's tiles) lie inside the file? A truncated or
 * damaged file is caught here with a precise reason, from a few KB of header, before any pixels
 * are decoded (and without trusting a decoder to notice: libheif happily decodes a cut-off grid
 * with missing tiles).
 */
import { isKeepsakeError } from '@keepsake/core';
import { type HeifFile, MEDIA_MALFORMED, type RandomAccess, readHeif, referencedItems } from '@keepsake/media';

const IMAGE_TYPES = new Set(['hvc1', 'grid', 'iden', 'av01']);

/** Why the file cannot be converted, or undefined when its structure is sound. */
export function structuralProblem(heif: HeifFile, fileSize: number): string | undefined {
  const primary = heif.items.get(heif.primaryItemId);
  if (!primary) return `the primary item ${heif.primaryItemId} does not exist`;
  if (!IMAGE_TYPES.has(primary.type)) return `the primary item is a '${primary.type}' item, not an image keepsake can decode`;
  const coded = primary.type === 'grid' || primary.type === 'iden' ? referencedItems(heif, 'dimg', primary.id) : [primary.id];
  if (coded.length === 0) return `the primary ${primary.type} image has no input images`;
  for (const id of coded) {
    const item = heif.items.get(id);
    if (!item) return `image item ${id} is referenced but missing`;
    if (item.constructionMethod !== 0) continue; // idat-stored data was read with the meta box
    for (const extent of item.extents) {
      const start = extent.offset; // the parser already added iloc base_offset
      const end = extent.length === 0 ? fileSize : start + extent.length;
      if (end > fileSize) return `image data of item ${id} ends at byte ${end}, past the end of the ${fileSize}-byte file (truncated?)`;
    }
  }
  return undefined;
}

/**
 * Parses and checks; returns the parsed file or a reason it cannot be converted. Errors reading
 * the bytes (a vanished file, a device timeout) are not damage: they are thrown as they are.
 */
export async function checkHeif(ra: RandomAccess): Promise<{ heif: HeifFile; problem?: undefined } | { heif?: undefined; problem: string }> {
  let heif: HeifFile;
  try {
    heif = await readHeif(ra);
  } catch (err) {
    if (isKeepsakeError(err) && err.code === MEDIA_MALFORMED) return { problem: err.message };
    throw err;
  }
  const problem = structuralProblem(heif, ra.size);
  return problem ? { problem } : { heif };
}
