import { readFileSync } from 'node:fs';
import { isKeepsakePlugin, silentLogger, validateManifest } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import plugin from './index.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

async function activate() {
  const registered = new Map<string, { create(options: unknown, ctx: unknown): unknown }>();
  const registry = {
    register: (id: string, c: never) => {
      registered.set(id, c);
      return { dispose() {} };
    },
  };
  await plugin.activate({
    pluginName: pkg.name,
    hostVersion: '0.1.0',
    logger: silentLogger,
    storageDir: '/tmp',
    secrets: {} as never,
    sources: registry,
    transforms: registry,
    sinks: registry,
    commands: registry,
    subscriptions: [],
  });
  return registered;
}

describe('plugin entry', () => {
  it('registers exactly the transforms its manifest declares', async () => {
    const manifest = validateManifest(pkg.name, pkg.keepsake);
    expect(isKeepsakePlugin(plugin)).toBe(true);
    const ids = (manifest.contributes.transforms ?? []).map((t) => t.id);
    expect([...(await activate()).keys()].sort()).toEqual(ids.sort());
  });

  it('stops before any bytes move when ffmpeg is missing', async () => {
    const transforms = await activate();
    const fctx = { env: { FFMPEG_PATH: '/nonexistent/ffmpeg' }, logger: silentLogger };
    for (const id of ['mov-to-mp4', 'live-to-motion-photo']) {
      expect(() => transforms.get(id)!.create({}, fctx)).toThrow(expect.objectContaining({ code: 'FFMPEG_NOT_FOUND' }));
    }
    // Pairing needs no ffmpeg.
    expect(transforms.get('live-pair')!.create({}, fctx)).toMatchObject({ id: 'live-pair' });
  });
});
