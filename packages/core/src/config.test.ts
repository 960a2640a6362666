import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigShape, findConfigFile, loadConfig, resolveConfigPath, resolveUserPath } from './config.js';

const good = { pipelines: { main: { source: { use: 'folder', with: { path: 'in' } }, sinks: [{ use: 'folder', with: { path: 'out' } }] } } };

describe('config', () => {
  it('loads JSON and YAML and finds the file in the working dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'keepsake.config.yaml'), 'pipelines:\n  main:\n    source: { use: folder, with: { path: in } }\n    sinks:\n      - use: folder\n        with: { path: out }\n');
    expect(findConfigFile(dir)).toBe(join(dir, 'keepsake.config.yaml'));
    const loaded = await loadConfig(join(dir, 'keepsake.config.yaml'));
    expect(loaded.config.pipelines.main?.sinks[0]?.use).toBe('folder');
    expect(loaded.dir).toBe(dir);
  });
  it('names the exact path of a structural mistake', () => {
    expect(() => checkConfigShape({ pipelines: { main: { source: { use: 'folder' }, sinks: [] } } })).toThrow(/pipelines\.main\.sinks must list at least one sink/);
    expect(() => checkConfigShape({ pipelines: { main: { ...good.pipelines.main, sinks: [{ use: 'folder', wiht: {} }] } } })).toThrow(
      /pipelines\.main\.sinks\[0\]\.wiht is not a known setting/,
    );
    expect(() => checkConfigShape({ pipeline: {} })).toThrow(/pipeline is not a known setting/);
    expect(checkConfigShape(good)).toBeTruthy();
  });
  it('reports syntax errors and missing files with codes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'bad.json'), '{ "pipelines": ');
    await expect(loadConfig(join(dir, 'bad.json'))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(loadConfig(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'CONFIG_NOT_FOUND' });
  });
  it('YAML anchors and merge keys reuse a step in another pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const yaml = [
      'pipelines:',
      '  phone-1:',
      '    source: { use: folder, with: { path: a } }',
      '    sinks:',
      '      - &nas { use: folder, with: { path: /mnt/nas/photos } }',
      '  phone-2:',
      '    source: { use: folder, with: { path: b } }',
      '    sinks:',
      '      - *nas',
      '      - <<: *nas',
      '        with: { path: /mnt/usb/photos }',
      '        offsite: true',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'keepsake.config.yaml'), yaml);
    const loaded = await loadConfig(join(dir, 'keepsake.config.yaml'));
    expect(loaded.config.pipelines['phone-2']?.sinks).toEqual([
      { use: 'folder', with: { path: '/mnt/nas/photos' } },
      { use: 'folder', with: { path: '/mnt/usb/photos' }, offsite: true },
    ]);
  });
});

describe('paths a user writes', () => {
  it('~ and ~/… are the home folder; relative paths start at the config folder; others stay as they are', () => {
    expect(resolveUserPath('/cfg', '~')).toBe(homedir());
    expect(resolveUserPath('/cfg', '~/Pictures/iPhone')).toBe(join(homedir(), 'Pictures/iPhone'));
    expect(resolveUserPath('/cfg', 'out')).toBe('/cfg/out');
    expect(resolveUserPath('/cfg', '/mnt/nas')).toBe('/mnt/nas');
    expect(resolveUserPath('/cfg', '~other/x')).toBe('/cfg/~other/x'); // another user's home is not guessed
    expect(resolveConfigPath({ dir: '/cfg' }, '~/.local/keepsake/ledger.sqlite')).toBe(join(homedir(), '.local/keepsake/ledger.sqlite'));
  });
});
