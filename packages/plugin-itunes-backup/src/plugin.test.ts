import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type CommandContext, type CommandContributionImpl, type Disposable, isKeepsakePlugin, type PluginContext, validateManifest } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { generateBackup } from '../test/backup-generator.ts';
import { factoryContext, memorySecrets, realisticFiles, recordingLogger } from '../test/fixtures.ts';
import plugin from './index.js';
import { createItunesBackupSource } from './itunes-backup-source.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

function commandContext(env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  const ctx: CommandContext = { ...factoryContext({ env }), stdin: new PassThrough(), stdout, stderr, interactive: false };
  return { ctx, out: () => out, err: () => err };
}

describe('plugin entry and manifest', () => {
  it('declares a valid manifest and registers exactly what it declares', async () => {
    const manifest = validateManifest(pkg.name, pkg.keepsake);
    expect(manifest.contributes.sources?.map((s) => s.id)).toEqual(['itunes-backup']);
    expect(manifest.contributes.commands?.map((c) => c.id)).toEqual(['backups']);
    expect(isKeepsakePlugin(plugin)).toBe(true);
    const registered: string[] = [];
    const registry = (kind: string) => ({
      register(id: string): Disposable {
        registered.push(`${kind}:${id}`);
        return { dispose() {} };
      },
    });
    const ctx: PluginContext = {
      pluginName: pkg.name,
      hostVersion: '0.1.0',
      logger: recordingLogger(),
      storageDir: '/x',
      secrets: memorySecrets(),
      sources: registry('source'),
      transforms: registry('transform'),
      sinks: registry('sink'),
      commands: registry('command'),
      subscriptions: [],
    };
    await plugin.activate(ctx);
    expect(registered).toEqual(['source:itunes-backup', 'command:backups']);
    expect(ctx.subscriptions).toHaveLength(2);
  });
});

describe('keepsake backups', () => {
  const root = mkdtempSync(join(tmpdir(), 'keepsake-backups-cmd-'));
  generateBackup({ root, udid: 'aaaa1111', deviceName: 'Plain Phone', iosVersion: '16.1', files: [] });
  generateBackup({ root, udid: 'bbbb2222', deviceName: 'Secret Phone', iosVersion: '17.5', files: [], encrypted: { password: 'x', iter: 1 } });
  const broken = generateBackup({ root, udid: 'cccc3333', files: [] }).dir;
  writeFileSync(join(broken, 'Manifest.plist'), 'garbage');

  const run = async (args: string[]) => {
    const c = commandContext();
    const code = await backupsCmd().run(args, c.ctx);
    return { code, out: c.out(), err: c.err() };
  };

  it('lists device name, iOS version, date and encryption as JSON', async () => {
    const r = await run(['--json', '--path', root]);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out);
    expect(list).toEqual([
      expect.objectContaining({ udid: 'aaaa1111', deviceName: 'Plain Phone', iosVersion: '16.1', date: '2024-06-01T10:00:00.000Z', encrypted: false, format: 'db', complete: true }),
      expect.objectContaining({ udid: 'bbbb2222', deviceName: 'Secret Phone', iosVersion: '17.5', encrypted: true }),
    ]);
    expect(r.err).toMatch(/skipped .*cccc3333.*BACKUP_PLIST_INVALID/);
  });

  it('prints a table, and says so when there is nothing', async () => {
    const r = await run([`--path=${root}`]);
    expect(r.out.split('\n')[0]).toMatch(/^DEVICE\s+IOS\s+DATE \(UTC\)\s+ENCRYPTION\s+UDID\s+PATH$/);
    expect(r.out).toMatch(/Plain Phone\s+iOS 16\.1\s+2024-06-01 10:00\s+plain\s+aaaa1111/);
    expect(r.out).toMatch(/Secret Phone\s+iOS 17\.5\s+2024-06-01 10:00\s+encrypted\s+bbbb2222/);
    const empty = mkdtempSync(join(tmpdir(), 'keepsake-none-'));
    expect((await run(['--path', empty])).out).toMatch(/No iPhone backups found/);
    rmSync(empty, { recursive: true });
    expect((await run(['--bogus'])).code).toBe(2);
  });
});

describe('key derivation happens once per source instance', () => {
  it('a second scan needs no password', async () => {
    const root = mkdtempSync(join(tmpdir(), 'keepsake-once-'));
    generateBackup({ root, udid: 'dddd4444', files: realisticFiles().slice(-2), encrypted: { password: 'pw', dpic: 100, iter: 3 } });
    const env: NodeJS.ProcessEnv = { KEEPSAKE_BACKUP_PASSWORD: 'pw' };
    const source = await createItunesBackupSource({ path: root }, factoryContext({ env }));
    const scan = async () => {
      const ids: string[] = [];
      for await (const a of source.scan({ signal: new AbortController().signal, logger: recordingLogger(), reportTotals() {} })) ids.push(a.id);
      return ids;
    };
    const first = await scan();
    delete env.KEEPSAKE_BACKUP_PASSWORD;
    expect(await scan()).toEqual(first);
    expect(first.length).toBeGreaterThan(0);
  });
});

function backupsCmd(): CommandContributionImpl {
  let cmd: CommandContributionImpl | undefined;
  const none = { register: () => ({ dispose() {} }) };
  void plugin.activate({
    pluginName: 'x',
    hostVersion: '0.1.0',
    logger: recordingLogger(),
    storageDir: '/x',
    secrets: memorySecrets(),
    sources: none,
    transforms: none,
    sinks: none,
    commands: {
      register(_id: string, c: CommandContributionImpl) {
        cmd = c;
        return { dispose() {} };
      },
    },
    subscriptions: [],
  });
  return cmd as CommandContributionImpl;
}
