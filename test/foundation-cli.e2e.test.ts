/**
 * The `keepsake` binary as a user meets it: help and version (fast, loading no plugin), usage and
 * config errors (exit 2 with a clear message), init, plugins, schema, doctor, plugin commands.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, reportOf, runCli } from './helpers/cli.ts';
import { bytesFor, writeJson } from './helpers/files.ts';
import { holdLedgerLock } from './helpers/ledger-lock.ts';
import { tempDirs } from './helpers/temp.ts';
import { hashTree, listFiles } from './helpers/tree.ts';

const HOSTILE_PLUGIN = fileURLToPath(new URL('./helpers/hostile-plugin', import.meta.url));
const hasStrace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const dirs = tempDirs();
let dir: string;
let env: NodeJS.ProcessEnv;
const cli = (args: string[], cwd = dir) => runCli(args, { cwd, env });

beforeAll(async () => {
  dir = await dirs.make('cli-');
  env = { KEEPSAKE_DATA_DIR: join(dir, 'data'), KEEPSAKE_CONFIG_DIR: join(dir, 'config') };
});
afterAll(() => dirs.cleanup());

describe('help and version', () => {
  it('prints help listing every command, exit 0; no command is a usage error', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['run', 'demo', 'init', 'plugins', 'schema', 'doctor', 'login', 'logout']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('Exit codes');
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('Usage: keepsake <command>');
  });

  it('prints per-command help with its options', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: keepsake run [pipeline]');
    for (const o of ['--config', '--dry-run', '--json']) expect(r.stdout).toContain(o);
    expect((await cli(['help', 'init'])).stdout).toContain('Never overwrites');
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../apps/cli/package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it.skipIf(!hasStrace)('--help and --version open no file of core, Ajv, SQLite or any plugin', () => {
    for (const flag of ['--help', '--version', 'run --help']) {
      const trace = join(dir, `strace-${flag.replace(/\W/g, '')}.txt`);
      execFileSync('strace', ['-f', '-qq', '-e', 'trace=openat,open', '-o', trace, process.execPath, CLI_BIN, ...flag.split(' ')], {
        cwd: dir,
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      const opened = readFileSync(trace, 'utf8')
        .split('\n')
        .map((l) => l.match(/open(?:at)?\([^"]*"([^"]+)"/)?.[1])
        .filter((p): p is string => !!p && !p.endsWith('package.json'));
      const distDir = CLI_BIN.replace(/bin\.js$/, '');
      expect(opened.filter((p) => /packages\/|@keepsake|ajv|yaml|sqlite/.test(p))).toEqual([]);
      // only bin.js itself from the CLI's dist: every command is a separate, lazily loaded chunk
      expect(opened.filter((p) => p.startsWith(distDir) && !p.endsWith('.map'))).toEqual([CLI_BIN]);
    }
  });
});

describe('usage and config errors exit 2 with a message and a hint', () => {
  it('unknown command and unknown option', async () => {
    const a = await cli(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('Unknown command "frobnicate"');
    const b = await cli(['run', '--bogus']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('Unknown option --bogus');
    expect(b.stderr).toContain('keepsake run --help');
    const c = await cli(['run', '--config']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--config needs a value');
  });

  it('no config: points at init and demo', async () => {
    const empty = await dirs.make('noconf-');
    const r = await cli(['run'], empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONFIG_NOT_FOUND');
    expect(r.stderr).toContain('keepsake init');
  });

  it('invalid JSON and unknown settings name the file and the place', async () => {
    const d = await dirs.make('badjson-');
    await writeFile(join(d, 'keepsake.config.json'), '{ "pipelines": { "a": { "source": ');
    const r = await cli(['run'], d);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain(join(d, 'keepsake.config.json'));
    await writeJson(join(d, 'other.json'), { pipelines: { a: { source: { use: 'x' }, sinks: [{ use: 'y' }], sinkz: [] } } });
    const s = await cli(['run', '--config', 'other.json', '--json'], d);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('pipelines.a.sinkz');
    // with --json the error is also one JSON line on stdout
    expect(JSON.parse(s.stdout.trim())).toMatchObject({ type: 'error', error: { code: 'CONFIG_INVALID' } });
  });

  it('several pipelines and no name: lists them', async () => {
    const d = await dirs.make('multi-');
    await writeJson(join(d, 'keepsake.config.json'), {
      plugins: [HOSTILE_PLUGIN],
      pipelines: { one: { source: { use: 'hostile' }, sinks: [{ use: 'folder', with: { path: 'a' } }] }, two: { source: { use: 'hostile' }, sinks: [{ use: 'folder', with: { path: 'b' } }] } },
    });
    const r = await cli(['run'], d);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PIPELINE_NOT_FOUND');
    expect(r.stderr).toContain('keepsake run one');
    expect(r.stderr).toContain('keepsake run two');
    const n = await cli(['run', 'three'], d);
    expect(n.code).toBe(2);
    expect(n.stderr).toContain('No pipeline "three"');
  });

  it('unknown plugin id: names it, where it is used, and what is installed', async () => {
    const d = await dirs.make('unknown-');
    await writeJson(join(d, 'keepsake.config.json'), {
      plugins: [HOSTILE_PLUGIN],
      pipelines: { p: { source: { use: 'hostile' }, sinks: [{ use: 'dropbox', with: {} }] } },
    });
    const r = await cli(['run'], d);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PLUGIN_NOT_FOUND');
    expect(r.stderr).toContain('"dropbox"');
    expect(r.stderr).toContain('pipelines.p.sinks[0]');
    expect(r.stderr).toMatch(/Installed sinks: .*onedrive/);
    expect(existsSync(join(d, 'data'))).toBe(false);
  });

  it('a missing plugin folder in config is a config error', async () => {
    const d = await dirs.make('noplug-');
    await writeJson(join(d, 'keepsake.config.json'), { plugins: ['./nowhere'], pipelines: { p: { source: { use: 'hostile' }, sinks: [{ use: 'x' }] } } });
    const r = await cli(['run'], d);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PLUGIN_NOT_FOUND');
    expect(r.stderr).toContain('nowhere');
  });
});

describe('init', () => {
  it('writes a starter config once and never overwrites it', async () => {
    const d = await dirs.make('init-');
    const r = await cli(['init'], d);
    expect(r.code).toBe(0);
    const written = await readFile(join(d, 'keepsake.config.json'), 'utf8');
    const config = JSON.parse(written);
    expect(config.pipelines.iphone.source.use).toBe('iphone');
    expect(config.pipelines.iphone.sinks[0]).toMatchObject({ use: 'folder', with: { path: './Photos' } });
    await writeFile(join(d, 'keepsake.config.json'), `${written}\n// mine`);
    const again = await cli(['init', '--source', 'folder'], d);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    expect(await readFile(join(d, 'keepsake.config.json'), 'utf8')).toBe(`${written}\n// mine`);
  });

  it('writes a folder-source config to another path; rejects bad values', async () => {
    const d = await dirs.make('init2-');
    const r = await cli(['init', '--source', 'folder', '--from', '/media/sd/DCIM', '--to', '/mnt/nas/photos', '--config', 'sd.json'], d);
    expect(r.code).toBe(0);
    const config = JSON.parse(await readFile(join(d, 'sd.json'), 'utf8'));
    expect(config.pipelines.photos.source).toEqual({ use: 'folder', with: { path: '/media/sd/DCIM' } });
    expect(config.pipelines.photos.sinks[0].with.path).toBe('/mnt/nas/photos');
    expect((await cli(['init', '--source', 'camera'], d)).code).toBe(2);
  });
});

describe('plugins, schema, plugin commands', () => {
  let d: string;
  beforeAll(async () => {
    d = await dirs.make('plugins-');
    await writeJson(join(d, 'keepsake.config.json'), { plugins: [HOSTILE_PLUGIN], pipelines: { p: { source: { use: 'hostile' }, sinks: [{ use: 'folder', with: { path: 'out' } }] } } });
  });

  it('lists default plugins and config plugins from manifests', async () => {
    const r = await cli(['plugins', '--json'], d);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; origin: string; contributes: Record<string, { id: string }[]> }[];
    const names = list.map((p) => p.name);
    expect(names).toContain('keepsake-test-hostile-source');
    expect(names).toContain('@keepsake/transport-usb');
    expect(list.find((p) => p.name === 'keepsake-test-hostile-source')).toMatchObject({ origin: 'path', contributes: { sources: [{ id: 'hostile' }] } });
    const human = await cli(['plugins'], d);
    expect(human.stdout).toMatch(/source\s+hostile\s+Hostile names/);
  });

  it('prints the config JSON Schema with every contributed id', async () => {
    const r = await cli(['schema'], d);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.required).toEqual(['pipelines']);
    const text = JSON.stringify(schema);
    for (const id of ['hostile', 'iphone', 'onedrive']) expect(text).toContain(`{"const":"${id}"}`);
  });

  it('dispatches a plugin-contributed word; its --help comes from the manifest', async () => {
    const r = await cli(['backups', '--help'], d);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: keepsake backups');
    expect(r.stdout).toContain('@keepsake/plugin-itunes-backup');
  });

  it('login: unknown sink id is a config error naming the configured ones', async () => {
    const r = await cli(['login', 'onedrive'], d);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No sink "onedrive" is configured');
    expect(r.stderr).toContain('Configured sinks: folder');
    expect((await cli(['login'], d)).code).toBe(2);
  });
});

describe('doctor', () => {
  it('checks Node, the ledger in KEEPSAKE_DATA_DIR and declared tools', async () => {
    const d = await dirs.make('doctor-');
    const r = await cli(['doctor', '--json'], d);
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
    expect(out.checks.find((c) => c.name === 'Node.js')?.status).toBe('ok');
    const ledger = out.checks.find((c) => c.name === 'Ledger')!;
    expect(ledger.status).toBe('ok');
    expect(ledger.detail).toContain(join(dir, 'data', 'ledger.sqlite'));
    // plugin-livephoto declares ffmpeg in its manifest `requires`
    expect(out.checks.some((c) => c.name === 'ffmpeg')).toBe(true);
    expect(r.code).toBe(out.ok ? 0 : 1);
  });

  it('fails the ledger check when the data dir cannot be created', async () => {
    const d = await dirs.make('doctor2-');
    await writeFile(join(d, 'file'), 'not a folder');
    const r = await runCli(['doctor', '--json'], { cwd: d, env: { ...env, KEEPSAKE_DATA_DIR: join(d, 'file', 'data') } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'Ledger').status).toBe('fail');
  });
});

describe('demo', () => {
  it('copies the sample camera roll into --out, verified; a second demo into the same folder adds nothing', async () => {
    const d = await dirs.make('demo-');
    const out = join(d, 'Photos');
    const userEnv = { ...env, KEEPSAKE_DATA_DIR: join(d, 'user-data') };
    const r = await runCli(['demo', '--out', out, '--json'], { cwd: d, env: userEnv, timeoutMs: 170_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.failed).toBe(0);
    expect(report.copied).toBeGreaterThan(10);
    const files = await listFiles(out);
    expect(files.length).toBeGreaterThanOrEqual(report.copied);
    // dated folders from capture dates, no temp files
    expect(files.every((f) => /\/\d{4}\/\d{4}-\d{2}\/[^/]+$/.test(f))).toBe(true);
    expect(files.some((f) => f.includes('.keepsake-partial-'))).toBe(false);
    // the user's data dir (ledger, pair records) was not touched
    expect(existsSync(join(d, 'user-data'))).toBe(false);
    const before = await hashTree(out);
    const again = await runCli(['demo', '--out', out, '--json'], { cwd: d, env: userEnv, timeoutMs: 170_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(reportOf(again.stdout)).toMatchObject({ copied: 0, failed: 0 });
    expect([...(await hashTree(out)).values()]).toEqual([...before.values()]);
  }, 360_000);

  it('falls back to the bundled sample folder: 24 dated JPEGs, one duplicate deduped', async () => {
    const d = await dirs.make('demo-folder-');
    const out = join(d, 'out');
    const r = await runCli(['demo', '--out', out], { cwd: d, env: { ...env, KEEPSAKE_DEMO_SOURCE: 'folder' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Sample camera roll');
    expect(r.stdout).toMatch(/24 copied/);
    expect(r.stdout).toMatch(/1 deduped/);
    expect(r.stdout).toContain(`Your copies are in ${out}`);
    const files = (await listFiles(out)).map((f) => f.slice(out.length + 1));
    expect(files).toContain('2024/2024-05/IMG_0001.JPG');
    expect(files).toContain('2024/2024-07/IMG_E0003.JPG');
    expect(files).toContain('2024/2024-07/IMG_0003.AAE');
    expect(files).toHaveLength(26);
  });
});

describe('run --dry-run', () => {
  it('plans without copying or recording anything; the real run then copies exactly what was planned', async () => {
    const d = await dirs.make('dry-');
    await writeJson(join(d, 'keepsake.config.json'), {
      ledger: './state/ledger.sqlite',
      pipelines: { p: { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './out' } }] } },
    });
    for (let i = 1; i <= 5; i++) await writeJson(join(d, 'src', `IMG_000${i}.JSON`), { i });
    await mkdir(join(d, 'out'));
    const dry = await cli(['run', '--dry-run', '--json'], d);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = reportOf(dry.stdout);
    expect(planned).toMatchObject({ dryRun: true, planned: 5, copied: 0 });
    expect(await listFiles(join(d, 'out'))).toEqual([]);
    expect(existsSync(join(d, 'state'))).toBe(false);
    const human = await cli(['run', '-n'], d);
    expect(human.stdout).toContain('Dry run p');
    expect(human.stdout).toContain('5 would be copied');
    const real = await cli(['run', '--json'], d);
    expect(real.code, real.stderr).toBe(0);
    expect(reportOf(real.stdout)).toMatchObject({ copied: 5, failed: 0 });
    // with a ledger, a dry run knows what is already there
    expect(reportOf((await cli(['run', '--dry-run', '--json'], d)).stdout)).toMatchObject({ planned: 0, skipped: 5 });
  });
});

describe('one import per ledger at a time', () => {
  it('run and prune refuse while another process holds the ledger (LEDGER_BUSY names it); dry runs still plan; a killed holder does not block', async () => {
    const d = await dirs.make('lock-');
    await writeJson(join(d, 'keepsake.config.json'), {
      ledger: './state/ledger.sqlite',
      pipelines: { p: { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './out' } }] } },
    });
    for (let i = 1; i <= 3; i++) await writeJson(join(d, 'src', `IMG_000${i}.JSON`), { i });
    await mkdir(join(d, 'out'));
    expect((await cli(['run'], d)).code).toBe(0); // creates the ledger
    await writeJson(join(d, 'src', 'IMG_0004.JSON'), { i: 4 });
    // another keepsake (here: a small Node process using core) holds the ledger
    const holder = await holdLedgerLock(join(d, 'state', 'ledger.sqlite'), 'keepsake run p (other terminal)');
    try {
      const busy = await cli(['run'], d);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain('LEDGER_BUSY');
      expect(busy.stderr).toContain('"keepsake run p (other terminal)"');
      expect(busy.stderr).toMatch(/hint: Wait for it to finish/);
      expect(await listFiles(join(d, 'out'))).not.toContain('IMG_0004.JSON');
      const json = await cli(['run', '--json'], d);
      expect(JSON.parse(json.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'error', error: { code: 'LEDGER_BUSY' } });
      // prune may list (--dry-run) while another process imports, but not delete
      expect((await cli(['prune', '--yes', '--min-copies', '1'], d)).stderr).toContain('LEDGER_BUSY');
      expect(await listFiles(join(d, 'src'))).toHaveLength(4);
      const listing = await cli(['prune', '--dry-run', '--min-copies', '1', '--json'], d);
      expect(listing.code, listing.stderr).toBe(0);
      expect(JSON.parse(listing.stdout)).toMatchObject({ mode: 'dry-run' });
      const dry = await cli(['run', '--dry-run', '--json'], d);
      expect(dry.code, dry.stderr).toBe(0);
      expect(reportOf(dry.stdout)).toMatchObject({ planned: 1 });
    } finally {
      await holder.crash(); // its row stays in the ledger, its pid is gone
    }
    const after = await cli(['run', '--json'], d);
    expect(after.code, after.stderr).toBe(0);
    expect(reportOf(after.stdout)).toMatchObject({ copied: 1 });
  });
});

describe('login / logout', () => {
  it('runs the configured sink’s sign-in with its options and plugin arguments; the secret goes to the store, not the config', async () => {
    const d = await dirs.make('login-');
    const config = {
      pipelines: {
        mail: {
          source: { use: 'folder', with: { path: './src' } },
          sinks: [{ use: 'email', with: { host: 'smtp.invalid', to: 'me@example.com', user: 'me@example.com' } }],
        },
      },
    };
    await writeJson(join(d, 'keepsake.config.json'), config);
    const secretsFile = join(dir, 'config', 'secrets.json');
    const r = await runCli(['login', 'email', '--no-verify'], { cwd: d, env, input: 'hunter2\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('me@example.com');
    const stored = await readFile(secretsFile, 'utf8');
    expect(stored).toContain('hunter2');
    expect(await readFile(join(d, 'keepsake.config.json'), 'utf8')).not.toContain('hunter2');
    const out = await runCli(['logout', 'email'], { cwd: d, env });
    expect(out.code, out.stderr).toBe(0);
    expect(existsSync(secretsFile) ? await readFile(secretsFile, 'utf8') : '').not.toContain('hunter2');
  });
});

describe('progress on a terminal', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('draws progress bars with counts, bytes and ETA on stderr when it is a TTY; none when piped', async () => {
    const d = await dirs.make('tty-');
    await writeJson(join(d, 'keepsake.config.json'), {
      ledger: './ledger.sqlite',
      pipelines: { p: { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './out' } }] } },
    });
    await mkdir(join(d, 'out'));
    await mkdir(join(d, 'src'));
    // 30 files of 1 MB with distinct bytes
    for (let i = 0; i < 30; i++) await writeFile(join(d, 'src', `IMG_${String(i).padStart(4, '0')}.MOV`), bytesFor(`tty${i}`, 1_000_000));
    const log = join(d, 'typescript.log');
    // `script` gives the CLI a pseudo-terminal as stdin/stdout/stderr and records what it drew
    const r = spawnSync('script', ['-qec', `${process.execPath} ${CLI_BIN} run`, log], {
      cwd: d,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const screen = await readFile(log, 'utf8');
    expect(screen).toMatch(/\x1b\[\d+A\x1b\[0J/); // redraws in place
    // a bar with ETA when the source reports totals; the folder source streams its walk, so a
    // spinner and running counts: "⠹ 12 items  12 MB  2.9 MB/s"
    expect(screen).toMatch(/(\[[^\]]{10,}\] \d+\/30 items {2}.*ETA|[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+ items {2}\d+(\.\d)? [kM]B)/);
    expect(screen).toContain('copied');
    expect(screen).toContain('Run p #1: done');
    // piped (not a TTY): only the report, no escape sequences
    const piped = await cli(['run'], d);
    expect(piped.stderr).not.toContain('\x1b[');
    expect(piped.stdout).toContain('30 skipped, already verified');
  });
});
