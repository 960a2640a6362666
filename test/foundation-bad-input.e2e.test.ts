/**
 * Bad input through the built CLI: unreadable, empty and vanishing files, names that collide by
 * case or Unicode form, over-long and hostile names. Each case: a clear error naming the item, no
 * other item lost, the run goes on, the exit code says what happened, and a rerun recovers.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { reportOf, runCli, spawnCli, withoutRootOverride } from './helpers/cli.ts';
import { bytesFor, writeJson } from './helpers/files.ts';
import { tempDirs } from './helpers/temp.ts';
import { byHash, hashTree, listFiles, sha256File } from './helpers/tree.ts';

const HOSTILE_PLUGIN = fileURLToPath(new URL('./helpers/hostile-plugin', import.meta.url));
const dirs = tempDirs();
afterAll(() => dirs.cleanup());

async function setup(prefix: string, pipeline: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const root = await dirs.make(prefix);
  await mkdir(join(root, 'src'), { recursive: true });
  await mkdir(join(root, 'out'), { recursive: true });
  await writeJson(join(root, 'keepsake.config.json'), { ledger: './ledger.sqlite', ...extra, pipelines: { p: pipeline } });
  const env = { KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'config') };
  return { root, env };
}

const folderPipeline = { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './out', template: '{name}' } }] };

async function put(path: string, data: Uint8Array | string): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, data);
  return path;
}

const rootOverride = withoutRootOverride();

describe('unreadable, empty, case and Unicode twins, long names — one run', () => {
  it.skipIf(rootOverride === null)('copies everything it can, fails the unreadable file with a hint, exit 1; a rerun after fixing copies just that file', async () => {
    const { root, env } = await setup('bad-', folderPipeline);
    const src = join(root, 'src');
    const expected: string[] = [];
    for (let i = 1; i <= 8; i++) expected.push(await put(join(src, 'DCIM', '100APPLE', `IMG_${String(i).padStart(4, '0')}.JPG`), bytesFor(`ok${i}`, 20_000 + i)));
    const locked = await put(join(src, 'DCIM', '100APPLE', 'IMG_0100.JPG'), bytesFor('locked', 30_000));
    await chmod(locked, 0o000);
    const empty = await put(join(src, 'DCIM', '100APPLE', 'IMG_0101.JPG'), '');
    expected.push(empty);
    // different bytes under names that differ only by case, and only by Unicode normalisation
    expected.push(await put(join(src, 'twins', 'IMG_0001.heic'), bytesFor('lower', 5000)));
    expected.push(await put(join(src, 'twins', 'IMG_0001.HEIC'), bytesFor('upper', 5000)));
    expected.push(await put(join(src, 'twins', 'caf\u00e9.jpg'), bytesFor('nfc', 4000)));
    expected.push(await put(join(src, 'twins', 'cafe\u0301.jpg'), bytesFor('nfd', 4000)));
    // the longest name ext4 allows (255 bytes), and one of multi-byte characters
    expected.push(await put(join(src, 'long', `${'L'.repeat(251)}.jpg`), bytesFor('long', 3000)));
    expected.push(await put(join(src, 'long', `${'é'.repeat(120)}.jpg`), bytesFor('long-utf8', 3000)));

    const r = await runCli(['run', '--json'], { cwd: root, env, prefix: rootOverride ?? undefined });
    expect(r.code).toBe(1);
    const report = reportOf(r.stdout);
    expect(report.failed).toBe(1);
    const failure = report.failures[0];
    expect(failure.assetId).toContain('IMG_0100');
    expect(failure.error.code).toMatch(/^SOURCE_/);
    expect(JSON.stringify(failure.error)).toContain('IMG_0100.JPG');
    expect(failure.error.hint).toBeTruthy();
    // the zero-byte file is reported, not hidden
    expect(report.diagnostics.some((d: { assetId: string; diagnostic: { source: string } }) => d.assetId.includes('IMG_0101'))).toBe(true);

    const out = await hashTree(join(root, 'out'));
    const have = byHash(out);
    for (const f of expected) expect(have.get(await sha256File(f)), `${basename(f)} arrived exactly once`).toHaveLength(1);
    expect(out.size).toBe(expected.length);
    // twins kept apart: four distinct names, none overwritten
    expect([...out.values()].filter((e) => e.path.normalize('NFC').toLowerCase().includes('caf') || /IMG_0001\./i.test(e.path))).toHaveLength(4);
    expect([...out.values()].find((e) => e.size === 0)).toBeDefined();

    // human output names the failure and what to do
    const human = await runCli(['run'], { cwd: root, env, prefix: rootOverride ?? undefined });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/1 failed/);
    expect(human.stdout).toContain('IMG_0100');
    expect(human.stdout).toContain('hint:');

    await chmod(locked, 0o644);
    const again = await runCli(['run', '--json'], { cwd: root, env, prefix: rootOverride ?? undefined });
    expect(again.code).toBe(0);
    expect(reportOf(again.stdout)).toMatchObject({ copied: 1, failed: 0 });
    expect(byHash(await hashTree(join(root, 'out'))).get(await sha256File(locked))).toHaveLength(1);
  });
});

describe('a file vanishing mid-run', () => {
  it('fails that item with a SOURCE_ error and a hint, copies the rest, exit 1', async () => {
    const { root, env } = await setup('vanish-', folderPipeline);
    const files: string[] = [];
    for (let i = 0; i < 12; i++) files.push(await put(join(root, 'src', 'DCIM', '100APPLE', `IMG_${String(i).padStart(4, '0')}.MOV`), bytesFor(`v${i}`, 2_000_000 + i)));
    const victim = files[files.length - 1]!;
    const child = spawnCli(['run', '--json'], { cwd: root, env });
    let stdout = '';
    let removed = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      // the scan has listed (and stat'ed) the folder once the first asset starts
      if (!removed && stdout.includes('"type":"asset-start"')) {
        removed = true;
        void rm(victim);
      }
    });
    child.stdin!.end();
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(removed).toBe(true);
    const report = reportOf(stdout);
    // the walk lists and stats a whole folder before the first asset starts, so the victim was seen
    expect(code).toBe(1);
    expect(report.assets).toBe(files.length);
    expect(report.failed).toBe(1);
    expect(report.copied).toBe(files.length - 1);
    expect(report.failures[0].assetId).toContain(basename(victim, '.MOV'));
    expect(report.failures[0].error.code).toMatch(/^SOURCE_ITEM_(VANISHED|CHANGED)$|^SOURCE_READ_FAILED$/);
    expect(report.failures[0].error.hint).toBeTruthy();
    const out = await listFiles(join(root, 'out'));
    expect(out.map((p) => basename(p)).sort()).toEqual(files.slice(0, -1).map((p) => basename(p)).sort());
    const stored = new Map(out.map((p) => [basename(p), p]));
    for (const f of files.slice(0, -1)) expect(await sha256File(stored.get(basename(f))!)).toBe(await sha256File(f));
  });
});

describe('hostile names from a source (../x, a\\0b, absolute paths, 300 characters, control characters)', () => {
  it('stores every item inside the destination under a safe name, or fails it with a clear error', async () => {
    const { root, env } = await setup('hostile-', { source: { use: 'hostile' }, sinks: [{ use: 'folder', with: { path: './out/inner', template: '{yyyy}/{name}' } }] }, {
      plugins: [HOSTILE_PLUGIN],
    });
    await mkdir(join(root, 'out', 'inner'), { recursive: true });
    const { HOSTILE_NAMES, hostileBytes } = (await import(join(HOSTILE_PLUGIN, 'names.js'))) as {
      HOSTILE_NAMES: string[];
      hostileBytes(i: number, name: string): Buffer;
    };
    const r = await runCli(['run', '--json'], { cwd: root, env });
    const report = reportOf(r.stdout);
    expect(report.assets).toBe(HOSTILE_NAMES.length);
    // nothing escaped: the only thing under out/ is inner/, and nothing appeared next to the config
    expect(await readdir(join(root, 'out'))).toEqual(['inner']);
    // (core keeps run temp files in a tmp/ folder next to the ledger)
    const allowed = new Set(['config', 'data', 'keepsake.config.json', 'ledger.sqlite', 'ledger.sqlite-shm', 'ledger.sqlite-wal', 'out', 'src', 'tmp']);
    expect((await readdir(root)).filter((n) => !allowed.has(n))).toEqual([]);
    expect(existsSync('/abs/olute.jpg')).toBe(false);
    const tree = await hashTree(join(root, 'out', 'inner'));
    const have = byHash(tree);
    const failedIds = new Set(report.failures.map((f: { assetId: string }) => f.assetId));
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      const h = (await import('node:crypto')).createHash('sha256').update(hostileBytes(i, name)).digest('hex');
      if (failedIds.has(`hostile-${i}`)) {
        const f = report.failures.find((x: { assetId: string }) => x.assetId === `hostile-${i}`);
        expect(f.error.code, `item ${JSON.stringify(name)} failed`).toBe('NAME_UNSAFE');
        expect(f.error.hint).toBeTruthy();
      } else {
        expect(have.get(h), `item ${JSON.stringify(name)} stored once`).toHaveLength(1);
      }
    }
    for (const e of tree.values()) {
      for (const segment of e.path.split('/')) {
        expect(segment).not.toMatch(/[\u0000-\u001f\u007f]/);
        expect(segment === '..' || segment === '.').toBe(false);
        expect(Buffer.byteLength(segment)).toBeLessThanOrEqual(255);
      }
    }
    expect(r.code).toBe(report.failed > 0 ? 1 : 0);
    // every stored file is a regular file readable back with its exact bytes
    for (const e of tree.values()) expect((await stat(join(root, 'out', 'inner', e.path))).isFile()).toBe(true);
  });
});

describe('config errors stop before anything runs', () => {
  it('bad option: names the option path and writes nothing', async () => {
    const { root, env } = await setup('badopt-', { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './out', tempalte: '{yyyy}' } }] });
    await put(join(root, 'src', 'IMG_0001.JPG'), 'x');
    const r = await runCli(['run'], { cwd: root, env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('OPTION_INVALID');
    expect(r.stderr).toContain('pipelines.p.sinks[0].with');
    expect(r.stderr).toContain('tempalte');
    expect(await readdir(join(root, 'out'))).toEqual([]);
    expect(existsSync(join(root, 'ledger.sqlite'))).toBe(false);
  });

  it('bad option value type and unknown template token', async () => {
    const { root, env } = await setup('badval-', { source: { use: 'folder', with: { path: 42 } }, sinks: [{ use: 'folder', with: { path: './out' } }] });
    const r = await runCli(['run'], { cwd: root, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('OPTION_INVALID');
    expect(r.stderr).toContain('pipelines.p.source.with');
    await writeJson(join(root, 'keepsake.config.json'), {
      pipelines: { p: { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './out', template: '{yyyy}/{month}' } }] } },
    });
    await mkdir(join(root, 'src'), { recursive: true });
    const t = await runCli(['run'], { cwd: root, env });
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('{month}');
  });

  it('a missing destination folder is refused, not created (an unmounted disk must not look empty)', async () => {
    const { root, env } = await setup('nodest-', { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './missing' } }] });
    await put(join(root, 'src', 'IMG_0001.JPG'), 'x');
    const r = await runCli(['run'], { cwd: root, env });
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('missing');
    expect(existsSync(join(root, 'missing'))).toBe(false);
  });
});
