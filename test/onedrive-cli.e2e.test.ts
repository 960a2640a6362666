/**
 * `keepsake login onedrive` and `keepsake run` through the built CLI, against the onedrive
 * package's fake Graph + identity platform on 127.0.0.1: the device-code login prints the URL and
 * code without a TTY and stores tokens in the 0600 secrets file (never in the config); the run
 * then uploads a folder of real photos and a rerun moves nothing.
 */
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuickXorHash } from '@keepsake/plugin-onedrive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeGraph, startFakeGraph } from '../packages/plugin-onedrive/test/fake-graph.js';
import { runCli } from './helpers/cli.js';
import { tempDirs } from './helpers/temp.js';

const FIXTURES = '/work/shared/fixtures/real';
let fake: FakeGraph;
let d: string;
let env: NodeJS.ProcessEnv;
const temp = tempDirs();

beforeAll(async () => {
  fake = await startFakeGraph({ quickXorHash: () => new QuickXorHash(), pendingPolls: 2 });
  d = await temp.make('onedrive-cli-');
  env = {
    KEEPSAKE_CONFIG_DIR: join(d, 'config'),
    KEEPSAKE_DATA_DIR: join(d, 'data'),
    KEEPSAKE_SECRET_STORE: 'file',
    // The fake's polling interval is "1 second"; count its seconds as 5 ms.
    KEEPSAKE_TEST_SECOND_MS: '5',
  };
  await mkdir(join(d, 'in'), { recursive: true });
  await copyFile(join(FIXTURES, 'live-photo/train.jpg'), join(d, 'in/IMG_0001.JPG'));
  await copyFile(join(FIXTURES, 'live-photo/train.mov'), join(d, 'in/IMG_0001.MOV'));
  await copyFile(join(FIXTURES, 'heic/IMG_2927.HEIC'), join(d, 'in/IMG_2927.HEIC'));
  await writeFile(
    join(d, 'keepsake.config.json'),
    JSON.stringify({
      pipelines: {
        cloud: {
          source: { use: 'folder', with: { path: './in' } },
          sinks: [{ use: 'onedrive', with: { clientId: 'e2e-client', endpoint: fake.endpoint, authority: fake.url, path: 'Pictures/{yyyy}' } }],
        },
      },
    }),
  );
});
afterAll(async () => {
  await fake.close();
  await temp.cleanup();
});

describe('keepsake login onedrive / run (CLI)', () => {
  it('run before login fails with the login hint', async () => {
    const r = await runCli(['run', 'cloud'], { cwd: d, env });
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('keepsake login onedrive');
  });

  it('login prints the verification URL and code without a TTY, polls, and stores tokens in the secrets file', async () => {
    const r = await runCli(['login', 'onedrive'], { cwd: d, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('https://microsoft.com/devicelogin');
    expect(r.stdout).toContain('FAKE-CODE');
    const secretsFile = join(d, 'config', 'secrets.json');
    expect((await stat(secretsFile)).mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(await readFile(secretsFile, 'utf8')) as Record<string, string>;
    const key = `keepsake:onedrive:e2e-client@${fake.url}/consumers`;
    const tokens = JSON.parse(secrets[key]!) as { accessToken: string; refreshToken: string };
    expect(tokens.refreshToken).toMatch(/^rt-/);
    expect(r.stdout).not.toContain(tokens.accessToken);
    expect(await readFile(join(d, 'keepsake.config.json'), 'utf8')).not.toContain(tokens.refreshToken);
    expect(fake.log.filter((l) => l.path.endsWith('/token')).map((l) => l.status)).toEqual([400, 400, 200]);
  });

  it('run uploads the folder to OneDrive with verified hashes; a rerun moves no bytes', async () => {
    const r = await runCli(['run', 'cloud'], { cwd: d, env });
    expect(r.code, r.stderr).toBe(0);
    const files = fake.files();
    expect(files.map((f) => f.name).sort()).toEqual(['IMG_0001.JPG', 'IMG_0001.MOV', 'IMG_2927.HEIC']);
    for (const f of files) expect(f.path).toMatch(/^Pictures\/(\d{4}|unknown)\/IMG_/);
    const bytes = fake.stats.uploadBytes;
    const again = await runCli(['run', 'cloud'], { cwd: d, env });
    expect(again.code, again.stderr).toBe(0);
    expect(fake.stats.uploadBytes).toBe(bytes);
    expect(fake.files()).toHaveLength(3);
  });

  it('logout removes the tokens', async () => {
    const r = await runCli(['logout', 'onedrive'], { cwd: d, env });
    expect(r.code).toBe(0);
    const secrets = JSON.parse(await readFile(join(d, 'config', 'secrets.json'), 'utf8').catch(() => '{}')) as Record<string, string>;
    expect(Object.keys(secrets).some((k) => k.startsWith('keepsake:onedrive:'))).toBe(false);
  });
});
