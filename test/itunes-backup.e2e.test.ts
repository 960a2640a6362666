/**
 * itunes-backup → folder sink through the built CLI: a plain and an encrypted backup, generated in
 * the real on-disk format with real crypto around the real camera fixtures. Every extracted file
 * must be byte-identical; a wrong password must stop the run before anything is written; the
 * backup folders must be left untouched; `keepsake backups` must list both.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBackup } from '../packages/plugin-itunes-backup/test/backup-generator.ts';
import { CAMERA_ROLL, fixtureBytes, realisticFiles } from '../packages/plugin-itunes-backup/test/fixtures.ts';
import { ndjson, reportOf, runCli } from './helpers/cli.ts';
import { writeJson } from './helpers/files.ts';
import { tempDirs } from './helpers/temp.ts';
import { hashTree, listFiles, sha256File } from './helpers/tree.ts';

const PASSWORD = 'e2e pässword';
const dirs = tempDirs();
let root: string;
let env: NodeJS.ProcessEnv;
let backupsSnapshot: string;

const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(args, { cwd: root, env: { ...env, ...extraEnv } });

async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const f of await listFiles(dir)) {
    const s = await stat(f);
    lines.push(`${f} ${s.size} ${s.mtimeMs} ${await sha256File(f)}`);
  }
  return lines.join('\n');
}

/** `out` holds exactly the camera-roll fixtures, byte for byte. */
async function expectCameraRoll(out: string): Promise<void> {
  const tree = await hashTree(out);
  const got = [...tree.values()].map((e) => e.sha256).sort();
  const want = Object.values(CAMERA_ROLL)
    .map((rel) => fixtureBytes(rel))
    .map(sha256)
    .sort();
  expect(got).toEqual(want);
  const names = [...tree.keys()].map((p) => p.split('/').pop()).sort();
  expect(names).toEqual(Object.keys(CAMERA_ROLL).map((k) => k.split('/').pop()).sort());
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  root = await dirs.make('itunes-');
  env = { KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'config') };
  generateBackup({ root: join(root, 'backups'), udid: '00008101-000A11112222333E', deviceName: 'Plain iPhone', files: realisticFiles() });
  generateBackup({
    root: join(root, 'backups'),
    udid: '00008110-000B44445555666E',
    deviceName: 'Secret iPhone',
    files: realisticFiles(),
    encrypted: { password: PASSWORD, dpic: 10_000, iter: 100 },
  });
  backupsSnapshot = await snapshot(join(root, 'backups'));
  for (const d of ['out-plain', 'out-secret']) await mkdir(join(root, d));
  await writeJson(join(root, 'keepsake.config.json'), {
    ledger: './state/ledger.sqlite',
    pipelines: {
      plain: {
        source: { use: 'itunes-backup', with: { path: './backups', udid: '00008101-000A11112222333E' } },
        sinks: [{ use: 'folder', with: { path: './out-plain' } }],
      },
      secret: {
        source: { use: 'itunes-backup', with: { path: './backups/00008110-000B44445555666E' } },
        sinks: [{ use: 'folder', with: { path: './out-secret' } }],
      },
    },
  });
});
afterAll(() => dirs.cleanup());

describe('keepsake run from itunes-backup to a folder', () => {
  it('lists both backups with `keepsake backups --json`', async () => {
    const r = await run(['backups', '--json', '--path', './backups']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout);
    expect(list.map((b: { deviceName: string; encrypted: boolean }) => [b.deviceName, b.encrypted])).toEqual([
      ['Plain iPhone', false],
      ['Secret iPhone', true],
    ]);
  });

  it('extracts a plain backup byte for byte', async () => {
    const r = await run(['run', 'plain', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report).toMatchObject({ assets: 4, failed: 0, copied: 4 });
    await expectCameraRoll(join(root, 'out-plain'));
  });

  it('stops on a wrong password with BACKUP_PASSWORD_WRONG before writing anything', async () => {
    const r = await run(['run', 'secret', '--json'], { KEEPSAKE_BACKUP_PASSWORD: 'not it' });
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toContain('BACKUP_PASSWORD_WRONG');
    const out = join(root, 'out-secret');
    expect(await readdir(out)).toEqual([]);
  });

  it('extracts an encrypted backup byte for byte, and a rerun copies nothing', async () => {
    const r = await run(['run', 'secret', '--json'], { KEEPSAKE_BACKUP_PASSWORD: PASSWORD });
    expect(r.code, r.stderr).toBe(0);
    expect(reportOf(r.stdout)).toMatchObject({ assets: 4, failed: 0, copied: 4 });
    await expectCameraRoll(join(root, 'out-secret'));
    const live = ndjson(r.stdout).filter((e) => e.type === 'item-done' && e.assetId === '100APPLE/IMG_0002');
    expect(live).toHaveLength(1);
    const again = await run(['run', 'secret', '--json'], { KEEPSAKE_BACKUP_PASSWORD: PASSWORD });
    expect(again.code, again.stderr).toBe(0);
    expect(reportOf(again.stdout)).toMatchObject({ assets: 4, copied: 0, skipped: 4, failed: 0 });
  });

  it('reports a missing content file on its item, copies the rest', async () => {
    const files = realisticFiles().map((f) => (f.relativePath.endsWith('IMG_0002.MOV') ? { ...f, omitBlob: true } : f));
    generateBackup({ root: join(root, 'partial'), udid: '00008030-000C77778888999E', deviceName: 'Partial iPhone', files });
    await mkdir(join(root, 'out-partial'));
    await writeJson(join(root, 'partial.config.json'), {
      ledger: './state/partial.sqlite',
      pipelines: { partial: { source: { use: 'itunes-backup', with: { path: './partial' } }, sinks: [{ use: 'folder', with: { path: './out-partial' } }] } },
    });
    const r = await run(['run', '--config', 'partial.config.json', '--json']);
    // 0 today; 1 if the pipeline starts counting error diagnostics as failures. Either way not a crash.
    expect([0, 1], r.stderr).toContain(r.code);
    const report = reportOf(r.stdout);
    expect(report.diagnostics).toContainEqual(
      expect.objectContaining({ assetId: '100APPLE/IMG_0002', diagnostic: expect.objectContaining({ level: 'error', message: expect.stringContaining('BACKUP_FILE_MISSING') }) }),
    );
    const out = [...(await hashTree(join(root, 'out-partial'))).values()].map((e) => e.sha256).sort();
    const want = Object.entries(CAMERA_ROLL)
      .filter(([name]) => !name.endsWith('IMG_0002.MOV'))
      .map(([, rel]) => sha256(fixtureBytes(rel)))
      .sort();
    expect(out).toEqual(want);
  });

  it('never wrote into the backup folders', async () => {
    expect(await snapshot(join(root, 'backups'))).toBe(backupsSnapshot);
    expect(await readFile(join(root, 'backups', '00008101-000A11112222333E', 'Info.plist'), 'utf8')).toContain('Plain iPhone');
  });
});
