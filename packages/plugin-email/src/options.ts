import { checkTemplate, KeepsakeError } from '@keepsake/core';

/** Options of the `email` sink after the host merged the manifest defaults. */
export interface EmailOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). */
  secure: boolean;
  /** Refuse to send unless the connection is upgraded with STARTTLS. */
  requireTLS: boolean;
  user?: string;
  from?: string;
  to: string;
  subject: string;
  maxMessageBytes: number;
  timeoutSeconds: number;
}

export const EMAIL_DEFAULTS = {
  port: 587,
  secure: false,
  requireTLS: true,
  subject: 'keepsake: {yyyy}-{MM}-{dd} {name}',
  maxMessageBytes: 20_000_000,
  timeoutSeconds: 60,
} as const;

/** Fills defaults (for callers that bypass the host) and rejects what the schema cannot express. */
export function normalizeEmailOptions(raw: Partial<EmailOptions> & Record<string, unknown>): EmailOptions {
  const o = { ...EMAIL_DEFAULTS, ...raw } as EmailOptions;
  if (!o.host) throw new KeepsakeError('OPTION_INVALID', 'The email sink needs `host` (the SMTP server)', { stage: 'config', hint: 'e.g. host: smtp.gmail.com' });
  if (!o.to?.includes('@')) throw new KeepsakeError('OPTION_INVALID', 'The email sink needs `to`, an email address', { stage: 'config' });
  if (!o.user && !o.from) {
    throw new KeepsakeError('OPTION_INVALID', 'The email sink needs `from` (or `user`, which is used as the sender)', { stage: 'config' });
  }
  checkTemplate(o.subject, 'subject');
  return o;
}

/** Key of the password in the SecretStore: one per account and server. */
export function passwordSecretKey(o: Pick<EmailOptions, 'user' | 'host'>): string {
  return `email:${o.user ?? ''}@${o.host.toLowerCase()}`;
}

/** Ledger key: the recipients, normalised; cosmetic options (subject, server) do not re-send everything. */
export function emailSinkKey(o: Pick<EmailOptions, 'to'>): string {
  const to = o.to
    .split(',')
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean)
    .sort()
    .join(',');
  return `email:${to}`;
}
