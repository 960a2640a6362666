/**
 * How big a message gets on the wire. SMTP carries attachments base64-encoded: 4 bytes per 3,
 * plus CRLF after every 76 characters, plus each part's MIME headers. Estimates here are upper
 * bounds, so a message packed under a budget is never larger than the budget once encoded.
 */

/** nodemailer folds base64 bodies at 76 characters (RFC 2045). */
const BASE64_LINE = 76;

/** Fixed allowance for top-level headers (From, To, Subject, Date, Message-ID, MIME boundaries, X-Mailer). */
export const MESSAGE_HEADER_ALLOWANCE = 4096;

/** Per attachment: boundary line, Content-Type/Disposition/Transfer-Encoding/Content-ID headers. */
const PART_HEADER_ALLOWANCE = 512;

/** Encoded size of `bytes` bytes of base64 with CRLF line breaks. */
export function base64WireSize(bytes: number): number {
  if (bytes <= 0) return 0;
  const chars = 4 * Math.ceil(bytes / 3);
  return chars + 2 * Math.ceil(chars / BASE64_LINE);
}

/**
 * Encoded size of one attachment part. The file name appears twice (Content-Type `name`,
 * Content-Disposition `filename`), possibly RFC 2231/2047-encoded at up to ~3× its UTF-8 length
 * plus folding.
 */
export function attachmentWireSize(fileName: string, bytes: number): number {
  const nameBytes = Buffer.byteLength(fileName, 'utf8');
  return PART_HEADER_ALLOWANCE + 2 * (3 * nameBytes + 32) + base64WireSize(bytes);
}

/** Encoded size of the plain-text body (quoted-printable can grow a line of UTF-8 by ~3×). */
export function textPartWireSize(text: string): number {
  return PART_HEADER_ALLOWANCE + 3 * Buffer.byteLength(text, 'utf8') + 2 * Math.ceil(text.length / 70);
}

/** Largest raw file that fits alone into a message of `maxMessageBytes` (inverse of the above, rounded down). */
export function largestSingleAttachment(maxMessageBytes: number, fileNameBytes = 64, bodyBytes = 1024): number {
  const room = maxMessageBytes - MESSAGE_HEADER_ALLOWANCE - PART_HEADER_ALLOWANCE - 2 * (3 * fileNameBytes + 32) - (PART_HEADER_ALLOWANCE + 4 * bodyBytes);
  if (room <= 0) return 0;
  // chars + 2*chars/76 <= room  →  chars <= room * 76/78
  const chars = Math.floor((room * BASE64_LINE) / (BASE64_LINE + 2)) - 2;
  return Math.max(0, Math.floor(chars / 4) * 3);
}
