import type { CommandContext, SecretStore } from '@keepsake/core';
import {
  createHttpClient,
  createTokenStore,
  deviceCodeLogin,
  formatDeviceCodePrompt,
  runLogin,
  runLogout,
  secretsFor,
  type TokenStore,
} from '@keepsake/transport-cloud';
import { deviceCodeUrl, type OneDriveOptions, resolveOptions, SCOPE, tokenKey, tokenUrl } from './options.js';

export async function oneDriveTokenStore(o: OneDriveOptions, ctx: { secrets: SecretStore; env?: NodeJS.ProcessEnv }): Promise<TokenStore> {
  return createTokenStore(await secretsFor(ctx), tokenKey(o));
}

/**
 * `keepsake login onedrive`: Microsoft's device code flow. Prints the URL and code (no TTY
 * needed — works over SSH or in a container), polls until the user finishes, stores the tokens.
 */
export async function loginOneDrive(input: Partial<OneDriveOptions> & { clientId: string }, ctx: CommandContext & { args: string[] }): Promise<void> {
  const o = resolveOptions(input);
  const store = await oneDriveTokenStore(o, ctx);
  const http = createHttpClient({ service: 'Microsoft sign-in', sink: 'onedrive', logger: ctx.logger });
  try {
    await runLogin(ctx, {
      service: 'OneDrive',
      store,
      obtain: (print) =>
        deviceCodeLogin({
          sink: 'onedrive',
          deviceCodeUrl: deviceCodeUrl(o),
          tokenUrl: tokenUrl(o),
          clientId: o.clientId,
          scope: SCOPE,
          http,
          signal: ctx.signal,
          prompt: (p) => print(formatDeviceCodePrompt('OneDrive', p)),
          secondMs: ctx.env.KEEPSAKE_TEST_SECOND_MS ? Number(ctx.env.KEEPSAKE_TEST_SECOND_MS) : undefined,
        }),
    });
  } finally {
    await http.close();
  }
}

export async function logoutOneDrive(input: Partial<OneDriveOptions> & { clientId: string }, ctx: CommandContext): Promise<void> {
  const o = resolveOptions(input);
  await runLogout(ctx, { service: 'OneDrive', store: await oneDriveTokenStore(o, ctx) });
}
