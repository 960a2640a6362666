import { spawn } from 'node:child_process';
import type { CommandContext } from '@keepsake/core';
import { loopbackLogin, runLogin, runLogout, secretsFor } from '@keepsake/transport-cloud';
import { createPlainClient, tokenStoreFor } from './client.js';
import { GPHOTOS_SCOPES, type GPhotosOptions, normalizeGPhotosOptions } from './options.js';

/**
 * `keepsake login gphotos [--no-browser]`: loopback redirect on 127.0.0.1 + PKCE with the user's
 * own Desktop OAuth client. Prints the consent URL (and opens a browser unless `--no-browser` or
 * there is no display), waits for Google's redirect, stores the tokens.
 */
export async function loginGPhotos(raw: GPhotosOptions, ctx: CommandContext & { args: string[] }): Promise<void> {
  const o = normalizeGPhotosOptions(raw);
  const store = tokenStoreFor(o, await secretsFor(ctx));
  const http = createPlainClient(ctx.logger);
  const openBrowser = !ctx.args.includes('--no-browser') && ctx.interactive;
  try {
    await runLogin(ctx, {
      service: 'Google Photos',
      store,
      obtain: (print) =>
        loopbackLogin({
          sink: 'gphotos',
          authorizeUrl: o.authUrl,
          tokenUrl: o.tokenUrl,
          clientId: o.clientId,
          clientSecret: o.clientSecret,
          scope: GPHOTOS_SCOPES.join(' '),
          http,
          // offline + consent: Google only returns a refresh token on a consent screen
          extraParams: { access_type: 'offline', prompt: 'consent' },
          signal: ctx.signal,
          prompt(url) {
            print(`Open this link to allow keepsake to add photos to your Google Photos:\n\n  ${url}\n\nWaiting for the browser…`);
            if (openBrowser) tryOpenBrowser(url, ctx.env);
          },
        }),
    });
  } finally {
    await http.close();
  }
}

export async function logoutGPhotos(raw: GPhotosOptions, ctx: CommandContext): Promise<void> {
  const o = normalizeGPhotosOptions(raw);
  await runLogout(ctx, { service: 'Google Photos', store: tokenStoreFor(o, await secretsFor(ctx)) });
}

/** Best effort: the URL is printed anyway, so a missing opener is not an error. */
function tryOpenBrowser(url: string, env: NodeJS.ProcessEnv): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return;
  try {
    const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true, env });
    child.on('error', () => {});
    child.unref();
  } catch {
    // printed URL is the fallback
  }
}
