import { KeepsakeError } from '@keepsake/core';

/** Stable error code for files whose structure is broken (bad box sizes, loops, truncation). */
export const MEDIA_MALFORMED = 'MEDIA_MALFORMED';

/** A MEDIA_MALFORMED error naming the byte offset where parsing stopped. */
export function malformed(what: string, offset: number, location?: string): KeepsakeError {
  return new KeepsakeError(MEDIA_MALFORMED, `${what} at byte ${offset}`, {
    location,
    classification: 'permanent',
    hint: 'The file structure is damaged or truncated; the bytes are still copied as they are, only metadata could not be read.',
  });
}
