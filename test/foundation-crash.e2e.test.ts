/**
 * Crash safety through the built CLI: `kill -9` at random points during a run of 2,000 files into
 * two folder sinks, then a rerun → complete, no duplicate, no partial file under a final name.
 * Also Ctrl-C (SIGINT): the run stops after the items in flight, exit 130, and a rerun finishes.
 *
 * Partial files: a sink writes `.keepsake-partial-*` temp files and renames them into place. After
 * SIGKILL such a temp file may remain (nobody was left to delete it); it is hidden, never carries a
 * final name, and the folder source ignores it. The test allows those and nothing else.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, reportOf, runCli, spawnCli } from './helpers/cli.ts';
import { type GeneratedFile, writeCameraRoll, writeJson } from './helpers/files.ts';
import { tempDirs } from './helpers/temp.ts';
import { hashTree } from './helpers/tree.ts';

const TEMP_PREFIX = '.keepsake-partial-';
const FILES = 2000;
const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** Small seeded PRNG (mulberry32) so a failing run can be replayed with KEEPSAKE_CRASH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Each generated file exactly once under a final name; only hidden temp files besides. */
async function expectComplete(out: string, files: GeneratedFile[]): Promise<{ temps: number }> {
  const tree = await hashTree(out);
  const finals = [...tree.values()].filter((e) => !basename(e.path).startsWith(TEMP_PREFIX));
  const temps = tree.size - finals.length;
  const want = new Map(files.map((f) => [f.sha256, f]));
  const seen = new Map<string, string[]>();
  for (const e of finals) {
    expect(want.has(e.sha256), `${e.path} (${e.size} bytes) matches no source file: partial or corrupt`).toBe(true);
    seen.set(e.sha256, [...(seen.get(e.sha256) ?? []), e.path]);
  }
  const dups = [...seen.values()].filter((p) => p.length > 1);
  expect(dups, 'stored twice').toEqual([]);
  const missing = files.filter((f) => !seen.has(f.sha256)).map((f) => f.rel);
  expect(missing, 'missing after the final run').toEqual([]);
  return { temps };
}

describe('kill -9 at random points, then rerun', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  let files: GeneratedFile[];
  const seed = Number(process.env.KEEPSAKE_CRASH_SEED ?? Date.now() % 100000);
  const random = prng(seed);

  beforeAll(async () => {
    root = await dirs.make('crash-');
    // (generating 2,000 files is part of the setup time, not of the runs)
    env = { KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'config') };
    // mostly small files, every 100th a 3 MB one so kills also land in the middle of a write
    files = await writeCameraRoll(join(root, 'src'), FILES, (i) => (i % 100 === 7 ? 3_000_000 + i : 200 + ((i * 7919) % 12_000)), 'crash');
    for (const d of ['out-a', 'out-b']) await mkdir(join(root, d));
    await writeJson(join(root, 'keepsake.config.json'), {
      ledger: './ledger.sqlite',
      pipelines: {
        p: {
          source: { use: 'folder', with: { path: './src' } },
          sinks: [
            { use: 'folder', with: { path: './out-a' } },
            { use: 'folder', with: { path: './out-b', template: '{yyyy}/{MM}/{dd}' } },
          ],
        },
      },
    });
  }, 120_000);

  it(`survives SIGKILLs at random points (seed ${seed}) and completes on rerun`, async () => {
    const kills: string[] = [];
    for (let k = 0; k < 4; k++) {
      // kill after a random number of completed (asset, sink) items, plus a random few ms
      const afterItems = Math.floor(random() * 500) + 1;
      const extraMs = Math.floor(random() * 40);
      const child = spawnCli(['run', '--json'], { cwd: root, env });
      let out = '';
      let done = 0;
      let killed = false;
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (killed) return;
        done = (out.match(/"type":"item-done"/g) ?? []).length;
        if (done >= afterItems) {
          killed = true;
          setTimeout(() => child.kill('SIGKILL'), extraMs);
        }
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin!.end();
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
      kills.push(`${afterItems}+${extraMs}ms → ${signal ?? `exit ${code}`} after ${done} items`);
      if (signal !== 'SIGKILL') {
        // the run finished before the kill point: nothing left to interrupt
        expect(code, stderr).toBe(0);
        break;
      }
    }
    const final = await runCli(['run', '--json'], { cwd: root, env, timeoutMs: 170_000 });
    expect(final.code, `${kills.join('; ')}\n${final.stderr}`).toBe(0);
    const report = reportOf(final.stdout);
    expect(report.failed).toBe(0);
    expect(report.assets).toBe(FILES);
    expect(report.copied + report.skipped + report.deduped).toBe(FILES * 2);
    const a = await expectComplete(join(root, 'out-a'), files);
    const b = await expectComplete(join(root, 'out-b'), files);
    console.log(`crash test seed ${seed}: ${kills.join('; ')}; leftover temp files: ${a.temps + b.temps}`);
    // and one more rerun is a no-op
    const again = await runCli(['run', '--json'], { cwd: root, env });
    expect(reportOf(again.stdout)).toMatchObject({ copied: 0, failed: 0, skipped: FILES * 2 });
    // 2,000 files × 2 sinks, each fsynced and read back, several times over: minutes on a busy 2-core box
  }, 480_000);
});

/**
 * A folder → folder run of `count` generated files that gets `interrupt` once its NDJSON output
 * contains `trigger`; resolves when the process has exited.
 */
async function interruptedRun(name: string, count: number, seedBase: number, trigger: string, interrupt: (child: ReturnType<typeof spawnCli>) => void) {
  const root = await dirs.make(`${name}-`);
  const env = { KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'config') };
  const files = await writeCameraRoll(join(root, 'src'), count, (i) => seedBase + i, name);
  await mkdir(join(root, 'out'));
  await writeJson(join(root, 'keepsake.config.json'), {
    ledger: './ledger.sqlite',
    pipelines: { p: { source: { use: 'folder', with: { path: './src' } }, sinks: [{ use: 'folder', with: { path: './out' } }] } },
  });
  const child = spawnCli(['run', '--json'], { cwd: root, env });
  let out = '';
  let stderr = '';
  let sent = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (!sent && out.includes(trigger)) {
      sent = true;
      interrupt(child);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end();
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { root, env, files, code, out, stderr };
}

describe('Ctrl-C', () => {
  it('SIGINT stops after the items in flight with exit 130; the rerun completes the rest', async () => {
    const { root, env, files, code, out, stderr } = await interruptedRun('sigint', 24, 1_000_000, '"type":"item-done"', (child) => child.kill('SIGINT'));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('Stopping');
    const events = ndjson(out);
    const end = events.find((e) => e.type === 'run-end');
    expect(end?.report.aborted).toBe(true);
    expect(end?.report.failed).toBe(0);
    const copiedFirst = end!.report.copied as number;
    expect(copiedFirst).toBeGreaterThan(0);
    expect(copiedFirst).toBeLessThan(files.length);
    // nothing partial left by a graceful stop: every file present is complete
    const tree = await hashTree(join(root, 'out'));
    expect([...tree.values()].filter((e) => basename(e.path).startsWith(TEMP_PREFIX))).toEqual([]);
    const want = new Set(files.map((f) => f.sha256));
    for (const e of tree.values()) expect(want.has(e.sha256)).toBe(true);
    const rest = await runCli(['run', '--json'], { cwd: root, env });
    expect(rest.code).toBe(0);
    const r2 = reportOf(rest.stdout);
    expect(r2.copied + r2.skipped).toBe(files.length);
    expect(r2.skipped).toBe(copiedFirst);
    expect((await hashTree(join(root, 'out'))).size).toBe(files.length);
  }, 120_000);

  it('a second Ctrl-C quits at once (exit 130); the rerun completes, nothing partial under a final name', async () => {
    const { root, env, files, code, stderr } = await interruptedRun('sigint2', 12, 4_000_000, '"type":"progress"', (child) => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGINT'), 20);
    });
    expect(code, stderr).toBe(130);
    const rest = await runCli(['run', '--json'], { cwd: root, env });
    expect(rest.code, rest.stderr).toBe(0);
    const tree = await hashTree(join(root, 'out'));
    const finals = [...tree.values()].filter((e) => !basename(e.path).startsWith(TEMP_PREFIX));
    const want = new Set(files.map((f) => f.sha256));
    for (const e of finals) expect(want.has(e.sha256), `${e.path} is complete`).toBe(true);
    expect(new Set(finals.map((e) => e.sha256)).size).toBe(files.length);
    expect(finals).toHaveLength(files.length);
  }, 120_000);
});
