import { type CommandContext, KeepsakeError } from '@keepsake/core';
import { createTransport } from 'nodemailer';
import { type EmailOptions, normalizeEmailOptions, passwordSecretKey } from './options.js';
import { readPassword } from './password-input.js';
import { mapSmtpError } from './smtp-errors.js';

/**
 * `keepsake login email`: reads the password (stdin pipe or hidden prompt), checks it against the
 * server unless `--no-verify`, then keeps it in the SecretStore — never in the config file.
 */
export async function loginEmail(raw: EmailOptions, ctx: CommandContext & { args: string[] }): Promise<void> {
  const o = normalizeEmailOptions(raw as EmailOptions & Record<string, unknown>);
  if (!o.user) {
    throw new KeepsakeError('OPTION_INVALID', 'This email sink has no `user`, so there is no password to store', {
      stage: 'config',
      hint: 'Add `user: you@example.com` to the sink options, or leave it out for a relay that needs no login.',
    });
  }
  const password = await readPassword(ctx.stdin, ctx.stderr, `Password for ${o.user} at ${o.host}: `);
  if (!password) throw new KeepsakeError('OPTION_INVALID', 'No password was given', { hint: 'Type the password, or pipe it: printf %s "$PW" | keepsake login email' });
  if (!ctx.args.includes('--no-verify')) await checkLogin(o, password);
  await ctx.secrets.set(passwordSecretKey(o), password);
  ctx.stdout.write(`Signed in to ${o.host} as ${o.user}; password kept in ${ctx.secrets.description}\n`);
}

export async function logoutEmail(raw: EmailOptions, ctx: CommandContext): Promise<void> {
  const o = normalizeEmailOptions(raw as EmailOptions & Record<string, unknown>);
  await ctx.secrets.delete(passwordSecretKey(o));
  ctx.stdout.write(`Forgot the password for ${o.user ?? '(no user)'} at ${o.host}\n`);
}

/** Connects, upgrades to TLS as configured and logs in; throws AUTH_REQUIRED on a 535. */
export async function checkLogin(o: EmailOptions, password: string): Promise<void> {
  const timeout = o.timeoutSeconds * 1000;
  const transport = createTransport({
    host: o.host,
    port: o.port,
    secure: o.secure,
    requireTLS: o.requireTLS && !o.secure,
    auth: { user: o.user!, pass: password },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  try {
    await transport.verify();
  } catch (err) {
    throw mapSmtpError(err, `${o.host}:${o.port}`);
  } finally {
    transport.close();
  }
}
