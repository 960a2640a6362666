import { abortError, isKeepsakeError, KeepsakeError, SinkError } from '@keepsake/core';

/** What nodemailer attaches to its errors. */
interface SmtpFailure {
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

/** The server's 552: the message is larger than it takes (RFC 1870), or the mailbox is over its storage allocation. */
export function isSizeRejection(err: unknown): boolean {
  return (err as SmtpFailure | undefined)?.responseCode === 552;
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
