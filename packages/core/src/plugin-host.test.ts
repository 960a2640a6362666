import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigShape } from './config.js';
import { PluginHost } from './plugin-host.js';

const sinkManifest = {
  apiVersion: 1,
  contributes: {
    sinks: [
      {
        id: 'memo',
        title: 'Memo sink',
        options: { type: 'object', properties: { path: { type: 'string' }, mode: { enum: ['a', 'b'] } }, required: ['path'], additionalProperties: false },
        defaults: { mode: 'a' },
      },
    ],
  },
};

/** Writes a plugin package into `<root>/node_modules/<name>` and returns the project package.json. */
function project(plugins: { name: string; manifest: unknown; entry: string; engine?: string }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'host-'));
  const deps: Record<string, string> = {};
  for (const p of plugins) {
    const dir = join(root, 'node_modules', p.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: p.name, version: '1.2.3', type: 'module', exports: { '.': './index.js', './package.json': './package.json' }, engines: { keepsake: p.engine ?? '^0.1.0' }, keepsake: p.manifest }),
    );
    writeFileSync(join(dir, 'index.js'), p.entry);
    deps[p.name] = '*';
  }
  const pj = join(root, 'package.json');
  writeFileSync(pj, JSON.stringify({ name: 'proj', dependencies: deps }));
  return pj;
}

const GOOD_ENTRY = `
globalThis.__memoActivations = (globalThis.__memoActivations ?? 0) + 1;
export default { $$type: '@keepsake/Plugin', apiVersion: 1, activate(ctx) {
  ctx.sinks.register('memo', { create: (options) => ({ key: 'memo:' + options.path, options, capabilities: {}, put: async () => ({ items: [] }) }) });
} };`;

const cfg = (withOpts: Record<string, unknown>) =>
  ({ config: checkConfigShape({ pipelines: { main: { source: { use: 'memo' }, sinks: [{ use: 'memo', with: withOpts }] } } }), path: '/x/keepsake.config.json', dir: '/x' }) as const;

describe('PluginHost', () => {
  it('lists contributions from manifests without importing plugin code', async () => {
    const pj = project([{ name: 'keepsake-plugin-memo', manifest: sinkManifest, entry: 'throw new Error("imported!");' }]);
    const host = await PluginHost.discover({ packageJsonPaths: [pj] });
    expect(host.plugins().map((p) => p.name)).toEqual(['keepsake-plugin-memo']);
    expect(host.contributions('sink').map((c) => c.id)).toEqual(['memo']);
    expect(host.configSchema()).toMatchObject({ required: ['pipelines'] });
    // activation imports it, and the failure is a typed error
    await expect(host.createSink({ use: 'memo', with: { path: 'p' } }, 'sinks[0]')).rejects.toMatchObject({ code: 'PLUGIN_ACTIVATION_FAILED' });
  });

  it('activates once on first use, merges defaults and validates options', async () => {
    const pj = project([{ name: 'keepsake-plugin-memo2', manifest: sinkManifest, entry: GOOD_ENTRY }]);
    const host = await PluginHost.discover({ packageJsonPaths: [pj] });
    const a = (await host.createSink({ use: 'memo', with: { path: 'x' } }, 's')) as unknown as { options: unknown; key: string };
    await host.createSink({ use: 'memo', with: { path: 'y' } }, 's');
    expect(a.options).toEqual({ mode: 'a', path: 'x' });
    expect((globalThis as { __memoActivations?: number }).__memoActivations).toBe(1);
    const bad = () => host.resolveOptions('sink', { use: 'memo', with: { pth: 'x' } }, 'pipelines.main.sinks[0]');
    expect(bad).toThrow(/pipelines\.main\.sinks\[0\]\.with\.pth is not an option of "memo" \(options: path, mode\)/);
    expect(bad).toThrow(/pipelines\.main\.sinks\[0\]\.with\.path is required/);
    expect(() => host.resolveOptions('sink', { use: 'memo', with: { path: 'x', mode: 'c' } }, 'w')).toThrow(/w\.with\.mode must be equal to one of the allowed values: "a", "b"/);
    await host.dispose();
  });

  it('explains unknown plugins and lists what is installed', async () => {
    const pj = project([{ name: 'keepsake-plugin-memo3', manifest: sinkManifest, entry: GOOD_ENTRY }]);
    const host = await PluginHost.discover({ packageJsonPaths: [pj] });
    expect(() => host.validateConfig(cfg({ path: 'x' }))).toThrow(/Unknown source "memo" at pipelines\.main\.source\.use/);
    try {
      host.resolveOptions('sink', { use: 'onedrive' }, 'pipelines.main.sinks[0]');
    } catch (e) {
      expect((e as { code: string; hint: string }).code).toBe('PLUGIN_NOT_FOUND');
      expect((e as { hint: string }).hint).toMatch(/Installed sinks: memo/);
    }
  });

  it('rejects plugins built for another core, naming the range', async () => {
    const pj = project([{ name: 'keepsake-plugin-old', manifest: sinkManifest, entry: GOOD_ENTRY, engine: '^9.0.0' }]);
    const host = await PluginHost.discover({ packageJsonPaths: [pj] });
    expect(host.plugins()[0]).toMatchObject({ compatible: false, problem: 'needs keepsake core ^9.0.0, this is 0.1.0' });
    expect(() => host.resolveOptions('sink', { use: 'memo', with: { path: 'x' } }, 's')).toThrow(/cannot be used: needs keepsake core \^9\.0\.0/);
  });

  it('fails activation when a plugin registers something it did not declare', async () => {
    const entry = `export default { $$type: '@keepsake/Plugin', apiVersion: 1, activate(ctx) {
      ctx.sinks.register('memo', { create: () => ({}) }); ctx.sinks.register('sneaky', { create: () => ({}) }); } };`;
    const pj = project([{ name: 'keepsake-plugin-sneaky', manifest: sinkManifest, entry }]);
    const host = await PluginHost.discover({ packageJsonPaths: [pj] });
    await expect(host.createSink({ use: 'memo', with: { path: 'x' } }, 's')).rejects.toThrow(/registers sink "sneaky", which its package.json/);
  });

  it('marks a plugin with a broken manifest unusable instead of crashing discovery', async () => {
    const pj = project([{ name: 'keepsake-plugin-broken', manifest: { apiVersion: 2, contributes: {} }, entry: GOOD_ENTRY }]);
    const host = await PluginHost.discover({ packageJsonPaths: [pj] });
    expect(host.plugins()[0]).toMatchObject({ compatible: false });
    expect(host.plugins()[0]?.problem).toMatch(/apiVersion must be 1/);
  });
  it('loads the ES module a package exports under nested conditions (import → default), not its CommonJS main', async () => {
    const root = mkdtempSync(join(tmpdir(), 'host-'));
    const dir = join(root, 'node_modules', 'keepsake-plugin-dual');
    mkdirSync(join(dir, 'dist'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'keepsake-plugin-dual',
        version: '1.0.0',
        main: './dist/index.cjs',
        exports: {
          '.': { import: { types: './dist/index.d.mts', default: './dist/index.mjs' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } },
          './package.json': './package.json',
        },
        engines: { keepsake: '^0.1.0' },
        keepsake: sinkManifest,
      }),
    );
    writeFileSync(join(dir, 'dist', 'index.mjs'), GOOD_ENTRY);
    writeFileSync(join(dir, 'dist', 'index.cjs'), 'throw new Error("the CommonJS build was loaded");');
    const pj = join(root, 'package.json');
    writeFileSync(pj, JSON.stringify({ name: 'proj', dependencies: { 'keepsake-plugin-dual': '*' } }));
    const host = await PluginHost.discover({ packageJsonPaths: [pj] });
    const sink = await host.createSink({ use: 'memo', with: { path: 'p' } }, 'sinks[0]');
    expect(sink.key).toBe('memo:p');
  });
});
