import { PassThrough } from 'node:stream';
import { type CommandContext, type Disposable, type PluginContext, type SinkContribution, silentLogger } from '@keepsake/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryResource, onedriveFixture, photoAsset, putContext } from '../test/helpers.js';
import plugin from './index.js';

let fx: Awaited<ReturnType<typeof onedriveFixture>>;
beforeEach(async () => {
  fx = await onedriveFixture({ pendingPolls: 2 });
});
afterEach(() => fx.close());

/** Activates the plugin against a minimal host and returns what it registered. */
async function activate(): Promise<SinkContribution<any>> {
  const registered = new Map<string, SinkContribution<any>>();
  const registry = <T>(map?: Map<string, T>) => ({
    register(id: string, c: T): Disposable {
      map?.set(id, c);
      return { dispose: () => void map?.delete(id) };
    },
  });
  const ctx: PluginContext = {
    pluginName: '@keepsake/plugin-onedrive',
    hostVersion: '0.1.0',
    logger: silentLogger,
    storageDir: fx.dir,
    secrets: fx.secrets,
    sources: registry(),
    transforms: registry(),
    sinks: registry(registered),
    commands: registry(),
    subscriptions: [],
  };
  await plugin.activate(ctx);
  expect(ctx.subscriptions).toHaveLength(1);
  return registered.get('onedrive')!;
}

function commandContext(): CommandContext & { args: string[]; out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  return {
    ...fx.fctx,
    env: { ...fx.fctx.env, KEEPSAKE_TEST_SECOND_MS: '5' },
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    interactive: false,
    args: [],
    out: () => text,
  };
}

describe('keepsake login onedrive', () => {
  it('device-code login end to end: prints URL and code, polls, stores tokens; the sink then works', async () => {
    const onedrive = await activate();
    const ctx = commandContext();
    await onedrive.login!(fx.sinkOptions, ctx);
    expect(ctx.out()).toContain('https://microsoft.com/devicelogin');
    expect(ctx.out()).toContain('FAKE-CODE');
    expect(ctx.out()).toMatch(/Signed in to OneDrive\. Tokens stored in file .*secrets\.json/);
    // Tokens went to the secret store, never to stdout.
    const tokens = await fx.store.load();
    expect(tokens?.accessToken).toMatch(/^at-/);
    expect(ctx.out()).not.toContain(tokens!.accessToken);
    expect(ctx.out()).not.toContain(tokens!.refreshToken!);
    const polls = fx.fake.log.filter((l) => l.path.endsWith('/token'));
    expect(polls.map((l) => l.status)).toEqual([400, 400, 200]);

    const sink = await onedrive.create(fx.sinkOptions, fx.fctx);
    const r = await sink.put(photoAsset([memoryResource('IMG_1.HEIC', Buffer.from('hello'))]), putContext());
    expect(r.items[0]!.verified).toBe(true);
    await sink.close?.();

    await onedrive.logout!(fx.sinkOptions, ctx);
    expect(await fx.store.load()).toBeUndefined();
    expect(ctx.out()).toContain('Signed out of OneDrive');
  });

  it('registers quickXorHash with core on activation', async () => {
    await activate();
    const { createHasher } = await import('@keepsake/core');
    expect(createHasher('quickXorHash').digest()).toBe('AAAAAAAAAAAAAAAAAAAAAAAAAAA=');
  });
});
