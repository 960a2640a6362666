/**
 * folder → two folder sinks through the built CLI, on the real fixtures plus generated files:
 * every output byte-identical, and a rerun that copies nothing and reads no file bytes.
 */
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, ndjson, reportOf, runCli } from './helpers/cli.ts';
import { bytesFor, writeCameraRoll, writeJson } from './helpers/files.ts';
import { realFixturesDir } from './helpers/fixtures.ts';
import { tempDirs } from './helpers/temp.ts';
import { byHash, hashTree, listFiles, sha256File } from './helpers/tree.ts';

const hasStrace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const dirs = tempDirs();
let root: string;
let src: string;
let env: NodeJS.ProcessEnv;
/** sha256 → count, for every file in the source tree. */
let sourceHashes: Map<string, number>;
let sourceFiles: string[];

const run = (args: string[]) => runCli(args, { cwd: root, env });

async function copyTree(from: string, to: string): Promise<void> {
  for (const e of await readdir(from, { withFileTypes: true })) {
    if (e.isDirectory()) {
      await mkdir(join(to, e.name), { recursive: true });
      await copyTree(join(from, e.name), join(to, e.name));
    } else if (e.isFile() && /\.(heic|heif|jpe?g|mov|mp4)$/i.test(e.name)) {
      await copyFile(join(from, e.name), join(to, e.name));
      await chmod(join(to, e.name), 0o644);
    }
  }
}

beforeAll(async () => {
  root = await dirs.make('folder-');
  src = join(root, 'card');
  env = { KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'config') };
  await mkdir(src, { recursive: true });
  await copyTree(realFixturesDir(), join(src, 'fixtures'));
  // generated: a camera roll with sizes from 0.5 kB to 3 MB, and a few large-ish "videos"
  await writeCameraRoll(src, 120, (i) => (i % 40 === 0 ? 3_000_000 + i : 500 + ((i * 7919) % 250_000)), 'folder-e2e');
  for (let i = 0; i < 3; i++) {
    const p = join(src, 'DCIM', '105APPLE', `IMG_${5000 + i}.MOV`);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, bytesFor(`movie-${i}`, 5_000_000 + i));
  }
  for (const d of ['out-a', 'out-b']) await mkdir(join(root, d));
  await writeJson(join(root, 'keepsake.config.json'), {
    ledger: './state/ledger.sqlite',
    pipelines: {
      card: {
        source: { use: 'folder', with: { path: './card' } },
        sinks: [
          { use: 'folder', with: { path: './out-a' } },
          { use: 'folder', with: { path: './out-b', template: '{yyyy}-{MM}-{dd}' } },
        ],
      },
    },
  });
  sourceFiles = await listFiles(src);
  // whole-millisecond mtimes, so the swap test below can restore them exactly (copies get ns ones)
  for (const f of sourceFiles) {
    const t = new Date(Math.floor((await stat(f)).mtimeMs));
    await utimes(f, t, t);
  }
  sourceHashes = new Map();
  for (const f of sourceFiles) {
    const h = await sha256File(f);
    sourceHashes.set(h, (sourceHashes.get(h) ?? 0) + 1);
  }
});
afterAll(() => dirs.cleanup());

/** Every source file's content is in `out` exactly once, and `out` holds nothing else. */
async function expectExactCopy(out: string): Promise<void> {
  const tree = await hashTree(out);
  const hashes = byHash(tree);
  const extra = [...tree.values()].filter((e) => !sourceHashes.has(e.sha256)).map((e) => e.path);
  expect(extra, `files in ${out} that match no source file (partial or corrupt)`).toEqual([]);
  for (const [h, n] of sourceHashes) expect(hashes.get(h)?.length ?? 0, `copies of ${h} in ${out}`).toBe(n);
  expect(tree.size).toBe(sourceFiles.length);
}

describe('folder → two folder sinks', () => {
  it('copies everything, byte-identical in both sinks, exit 0', async () => {
    const r = await run(['run', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.failed).toBe(0);
    expect(report.copied).toBe(report.assets * 2);
    await expectExactCopy(join(root, 'out-a'));
    await expectExactCopy(join(root, 'out-b'));
    // the Live Photo pair keeps one base name in each sink
    const a = await listFiles(join(root, 'out-a'));
    const train = a.filter((p) => /train\.(jpg|mov)$/i.test(p)).map((p) => relative(join(root, 'out-a'), p));
    expect(train).toHaveLength(2);
    expect(join(train[0]!, '..')).toBe(join(train[1]!, '..'));
    // mtimes are preserved
    const gen = join(src, 'DCIM', '100APPLE', 'IMG_0001.JPG');
    const copy = a.find((p) => p.endsWith('/IMG_0001.JPG'))!;
    expect(Math.round((await stat(copy)).mtimeMs)).toBe(Math.round((await stat(gen)).mtimeMs));
    // events: one item-done per (asset, sink), with a receipt naming where it went
    const done = ndjson(r.stdout).filter((e) => e.type === 'item-done');
    expect(done).toHaveLength(report.assets * 2);
    expect(new Set(done.map((e) => e.sink)).size).toBe(2);
  });

  it('a rerun copies nothing: every item skipped as already verified', async () => {
    const r = await run(['run', '--json']);
    expect(r.code).toBe(0);
    const report = reportOf(r.stdout);
    expect(report).toMatchObject({ copied: 0, failed: 0, deduped: 0, bytesCopied: 0 });
    expect(report.skipped).toBe(report.assets * 2);
  });

  it.skipIf(!hasStrace)('a rerun opens no source file for reading (traced with strace)', async () => {
    const trace = join(root, 'rerun.strace');
    execFileSync('strace', ['-f', '-qq', '-e', 'trace=openat,open', '-o', trace, process.execPath, CLI_BIN, 'run', '--json'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: 'ignore',
    });
    const lines = (await readFile(trace, 'utf8')).split('\n');
    // the trace does see this process tree walking the source (so an empty list below means something)
    expect(lines.filter((l) => l.includes('O_DIRECTORY') && l.includes(`"${src}`)).length).toBeGreaterThan(0);
    const opened = lines
      .filter((l) => !l.includes('O_DIRECTORY') && !/ = -1 /.test(l))
      .map((l) => l.match(/open(?:at)?\([^"]*"([^"]+)"/)?.[1])
      .filter((p): p is string => !!p && p.startsWith(`${src}/`));
    expect(opened, 'source files opened during a no-op rerun').toEqual([]);
  });

  it('a rerun reads no bytes: same-size, same-mtime files with other content are not re-copied', async () => {
    // If the rerun read any source bytes it would see new hashes and copy them as new content.
    const before = await hashTree(join(root, 'out-a'));
    for (const f of sourceFiles) {
      const st = await stat(f);
      await writeFile(f, bytesFor(`swapped:${f}`, st.size));
      await utimes(f, st.atime, st.mtime);
    }
    const r = await run(['run', '--json']);
    expect(r.code).toBe(0);
    const report = reportOf(r.stdout);
    expect(report).toMatchObject({ copied: 0, failed: 0 });
    expect(report.skipped).toBe(report.assets * 2);
    const after = await hashTree(join(root, 'out-a'));
    expect([...after.values()]).toEqual([...before.values()]);
  });

  it('control: a file whose mtime changed is seen as new content and copied once per sink', async () => {
    const f = join(src, 'DCIM', '100APPLE', 'IMG_0002.JPG');
    const t = new Date(Date.UTC(2023, 5, 1, 12));
    await utimes(f, t, t);
    const r = await run(['run', '--json']);
    expect(r.code).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.copied).toBe(2);
    expect(report.failed).toBe(0);
    // the new bytes went next to, never over, the old copy
    const h = await sha256File(f);
    for (const out of ['out-a', 'out-b']) {
      const tree = await hashTree(join(root, out));
      expect(byHash(tree).get(h)).toHaveLength(1);
      expect(tree.size).toBe(sourceFiles.length + 1);
    }
  });
});
