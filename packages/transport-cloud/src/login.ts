import type { CommandContext, SecretStore } from '@keepsake/core';
import { createSecretStore } from './keychain.js';
import type { DeviceCodePrompt } from './oauth-device-code.js';
import type { TokenSet, TokenStore } from './tokens.js';

/**
 * The token store's secret store for a plugin: the OS keychain when one answers, else the host's
 * store (`ctx.secrets`, core's 0600 file). Cached per process so the keychain is probed once.
 */
let cached: Promise<SecretStore> | undefined;
let cachedFallback: SecretStore | undefined;
export function secretsFor(ctx: { secrets: SecretStore; env?: NodeJS.ProcessEnv }): Promise<SecretStore> {
  if (!cached || cachedFallback !== ctx.secrets) {
    cachedFallback = ctx.secrets;
    cached = createSecretStore({ fallback: ctx.secrets, env: ctx.env ?? process.env });
  }
  return cached;
}

/** The lines `keepsake login` prints for a device code; plain text so it works without a TTY. */
export function formatDeviceCodePrompt(service: string, p: DeviceCodePrompt): string {
  const url = p.verificationUriComplete ?? p.verificationUri;
  return [
    `To sign in to ${service}, open ${url}`,
    `and enter the code ${p.userCode}`,
    `(the code expires in ${Math.round(p.expiresInS / 60)} minutes; keepsake waits here)`,
    '',
  ].join('\n');
}

/**
 * Runs an interactive login (device code or loopback) for `keepsake login <sink>` and stores the
 * tokens. `obtain` gets a function to print lines to the user.
 */
export async function runLogin(
  ctx: Pick<CommandContext, 'stdout' | 'stderr'>,
  o: { service: string; store: TokenStore; obtain(print: (text: string) => void): Promise<TokenSet> },
): Promise<TokenSet> {
  const print = (text: string) => void ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const tokens = await o.obtain(print);
  await o.store.save({ ...tokens, obtainedAt: Date.now() });
  print(`Signed in to ${o.service}. Tokens stored in ${o.store.description}.`);
  return tokens;
}

/** `keepsake logout <sink>`: forgets the stored tokens (the service may still list the app). */
export async function runLogout(ctx: Pick<CommandContext, 'stdout'>, o: { service: string; store: TokenStore }): Promise<boolean> {
  const had = (await o.store.load()) !== undefined;
  await o.store.clear();
  ctx.stdout.write(had ? `Signed out of ${o.service}; tokens removed from ${o.store.description}.\n` : `Not signed in to ${o.service}; nothing to remove.\n`);
  return had;
}
