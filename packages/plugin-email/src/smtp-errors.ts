import { abortError, isKeepsakeError, KeepsakeError, SinkError } from '@keepsake/core';

/** What nodemailer attaches to its errors. */
export interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
  name?: string;
}

/** Connection-level failures and read errors mid-message: nothing was accepted, so sending again is safe. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EDNS', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ESTREAM']);

/** Node's TLS verification failures: a wrong or self-signed certificate does not fix itself on retry. */
const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/;

/** A reply to RCPT TO (nodemailer's `command`). */
function atRcpt(e: SmtpFailure): boolean {
  return /^RCPT/i.test(e.command ?? '');
}

/**
 * The server's 552 to the message (after DATA, or to MAIL FROM with SIZE=): larger than it takes
 * (RFC 1870). A 552 to RCPT TO is about the recipient — mailbox over its storage allocation, or
 * too many recipients, which RFC 5321 §4.5.3.1.10 says to treat as the temporary 452 — and says
 * nothing about the message size.
 */
export function isSizeRejection(err: unknown): boolean {
  const e = err as SmtpFailure | undefined;
  return e?.responseCode === 552 && !atRcpt(e);
}

/**
 * The server took the message for some recipients and refused others at RCPT TO (nodemailer then
 * still reports success, listing them in `rejected`). Those recipients did not get the assets, so
 * the message does not count as delivered: a permanent refusal (5xx) is a configuration problem
 * and stops the run like a refusal of every recipient; a temporary one (4xx, or 552 read as 452)
 * is retryable — the recipients that accepted get the message again then (a duplicate email rather
 * than a missing photo).
 */
export function partialRecipientRefusal(rejected: readonly string[], errors: readonly SmtpFailure[], where: string): KeepsakeError {
  const replies = errors.map((e) => e.response?.trim()).filter(Boolean);
  const said = replies.length ? ` (server said: ${replies.join('; ')})` : '';
  const temporary = errors.length === 0 || errors.some((e) => e.responseCode === undefined || e.responseCode < 500 || e.responseCode === 552);
  if (temporary) {
    return SinkError.writeFailed(`The server deferred recipient(s) ${rejected.join(', ')}${said}; the others got the message`, {
      location: where,
      classification: 'retryable',
      hint: 'Not counted as delivered: the message is sent again later (recipients who got it receive it twice).',
    });
  }
  return new KeepsakeError('EMAIL_RECIPIENT_REFUSED', `The server refused recipient(s) ${rejected.join(', ')}${said}; the others got the message`, {
    location: where,
    classification: 'fatal',
    hint: 'Check the `to` option: every recipient must exist. Nothing was counted as delivered.',
  });
}

/**
 * Maps a nodemailer failure to a KeepsakeError: bad credentials → AUTH_REQUIRED (fatal: every
 * message would fail), 4xx and dropped connections → retryable, recipient refused → fatal, other
 * 5xx → permanent for the assets in that message.
 */
export function mapSmtpError(err: unknown, where: string): KeepsakeError {
  if (isKeepsakeError(err)) return err;
  const e = (err ?? {}) as SmtpFailure;
  if (e.name === 'AbortError' || e.code === 'EABORT') return abortError(err);
  const reply = e.response ? ` (server said: ${e.response.trim()})` : '';
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH' || e.responseCode === 535 || e.responseCode === 534 || e.responseCode === 530) {
    return SinkError.authRequired('email', {
      cause: err,
      location: where,
      hint: `The server refused the login${reply}. Run: keepsake login email (app passwords are needed for Gmail, iCloud and Outlook with two-step sign-in).`,
    });
  }
  if (e.responseCode === 552 && atRcpt(e)) {
    return SinkError.writeFailed(`The server cannot take mail for the recipient now: ${e.message ?? String(err)}${reply}`, {
      cause: err,
      location: where,
      classification: 'retryable',
      hint: "552 to RCPT means the recipient's mailbox is full (or too many recipients); nothing was counted as delivered, and it is sent again later.",
    });
  }
  if (e.code === 'EENVELOPE' && e.responseCode !== undefined && e.responseCode >= 500) {
    return new KeepsakeError('EMAIL_RECIPIENT_REFUSED', `The server refused the sender or recipient${reply}`, {
      cause: err,
      location: where,
      classification: 'fatal',
      hint: 'Check the `from` and `to` options; many servers only let you send as your own address.',
    });
  }
  if (e.code === 'EREQUIRETLS' || e.code === 'ETLS' || (e.code && CERT_CODES.test(e.code)) || /STARTTLS|certificate/i.test(e.message ?? '')) {
    return new KeepsakeError('EMAIL_TLS_FAILED', `TLS with the SMTP server failed: ${e.message ?? String(err)}`, {
      cause: err,
      location: where,
      classification: 'fatal',
      hint: 'Use port 465 with `secure: true`, or port 587 with `requireTLS: true`; set `requireTLS: false` only for a server on your own network.',
    });
  }
  if ((e.code && TRANSIENT_CODES.has(e.code)) || (e.responseCode !== undefined && e.responseCode >= 400 && e.responseCode < 500)) {
    return SinkError.writeFailed(`The message was not accepted: ${e.message ?? String(err)}${reply}`, {
      cause: err,
      location: where,
      classification: 'retryable',
      hint: 'Nothing in this message was counted as delivered; it is sent again on retry or on the next run.',
    });
  }
  return SinkError.writeFailed(`The server rejected the message: ${e.message ?? String(err)}${reply}`, {
    cause: err,
    location: where,
    classification: 'permanent',
    hint: 'The assets in this message were not counted as delivered; see the server reply.',
  });
}
