/**
 * @keepsake/plugin-email — the `email` sink: photos and videos as attachments, packed into
 * size-limited SMTP messages and counted as delivered only on the server's 250.
 * @packageDocumentation
 */
import { definePlugin, type FactoryContext, type SinkContribution, SinkError } from '@keepsake/core';
import { EmailSink } from './email-sink.js';
import { loginEmail, logoutEmail } from './login.js';
import { type EmailOptions, emailSinkKey, normalizeEmailOptions, passwordSecretKey } from './options.js';
import { SentLog } from './sent-log.js';

export { EmailSink, type EmailSinkDeps, type MailSender, type OutgoingMessage } from './email-sink.js';
export { attachmentWireSize, base64WireSize, largestSingleAttachment } from './message-size.js';
export { EMAIL_DEFAULTS, type EmailOptions, emailSinkKey, normalizeEmailOptions, passwordSecretKey } from './options.js';
export { SentLog } from './sent-log.js';
export { probeSmtpSize, type SmtpProbeResult } from './smtp-size.js';

/** The `email` sink contribution (exported for tests and embedding). @public */
export const emailSink: SinkContribution<EmailOptions> = {
  async create(raw, fctx: FactoryContext) {
    const options = normalizeEmailOptions(raw as EmailOptions & Record<string, unknown>);
    const password = options.user ? await fctx.secrets.get(passwordSecretKey(options)) : undefined;
    if (options.user && password === undefined) {
      // fail before any bytes move rather than on the first message
      throw SinkError.authRequired('email', { stage: 'put', location: `${options.user} at ${options.host}` });
    }
    return new EmailSink({ options, password, logger: fctx.logger.child({ sink: 'email' }), sentLog: new SentLog(fctx.storageDir, emailSinkKey(options)) });
  },
  login: loginEmail,
  logout: logoutEmail,
};

export default definePlugin({
  activate(ctx) {
    ctx.sinks.register('email', emailSink);
  },
});
