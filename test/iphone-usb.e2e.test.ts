/**
 * iPhone over USB end to end: a simulated iPhone (usbmuxd + lockdownd + AFC, ≥ 500 assets) →
 * `keepsake run` with the `iphone` source → a folder. Every file byte-identical; a rerun copies
 * nothing; a cable pulled mid-video fails that run cleanly and the next run completes exactly.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Simulator, type SimDevice } from '@keepsake/device-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportOf, runCli } from './helpers/cli.ts';
import { writeJson } from './helpers/files.ts';
import { tempDirs } from './helpers/temp.ts';
import { byHash, hashTree } from './helpers/tree.ts';

const dirs = tempDirs();
let root: string;
let sim: Simulator;
let phone: SimDevice;
/** sha256 → count of every DCIM file on the simulated phone. */
const phoneHashes = new Map<string, number>();
let phoneFiles = 0;

const env = () => ({ KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'config'), USBMUXD_SOCKET_ADDRESS: sim.address });
const run = (pipeline: string) => runCli(['run', pipeline, '--json'], { cwd: root, env: env(), timeoutMs: 170_000 });

function contentHash(f: { content: { size: number; read(o: number, l: number): Buffer } }): string {
  const h = createHash('sha256');
  for (let o = 0; o < f.content.size; o += 1 << 20) h.update(f.content.read(o, 1 << 20));
  return h.digest('hex');
}

async function expectExactCopy(out: string): Promise<void> {
  const tree = await hashTree(out);
  const extra = [...tree.values()].filter((e) => !phoneHashes.has(e.sha256)).map((e) => e.path);
  expect(extra, `files in ${out} that match no file on the phone (partial or corrupt)`).toEqual([]);
  const hashes = byHash(tree);
  for (const [h, n] of phoneHashes) expect(hashes.get(h)?.length ?? 0, `copies of ${h}`).toBe(n);
  expect(tree.size).toBe(phoneFiles);
}

beforeAll(async () => {
  root = await dirs.make('iphone-');
  sim = await Simulator.start({
    devices: [{ name: 'E2E iPhone', trust: { pending: 2 }, cameraRoll: { assets: 520, seed: 2026, compact: true, largeVideoBytes: 6 * 1024 * 1024, largeVideoEvery: 40 } }],
  });
  phone = sim.devices[0] as SimDevice;
  for (const f of phone.fs.files.values()) {
    if (!f.path.startsWith('/DCIM/') || f.path.includes('/.')) continue;
    const h = contentHash(f);
    phoneHashes.set(h, (phoneHashes.get(h) ?? 0) + 1);
    phoneFiles++;
  }
  for (const d of ['out', 'out-cut']) await mkdir(join(root, d));
  await writeJson(join(root, 'keepsake.config.json'), {
    ledger: './state/ledger.sqlite',
    pipelines: {
      phone: { source: { use: 'iphone' }, sinks: [{ use: 'folder', with: { path: './out' } }] },
      cut: { source: { use: 'iphone', with: { readTimeoutSeconds: 5 } }, sinks: [{ use: 'folder', with: { path: './out-cut' } }] },
    },
  });
});
afterAll(async () => {
  await sim?.stop();
  await dirs.cleanup();
});

describe('simulated iPhone → keepsake run → folder', () => {
  it('pairs (Trust), copies every file byte-identical, exit 0', async () => {
    expect(phoneFiles).toBeGreaterThanOrEqual(700);
    const r = await run('phone');
    expect(r.code, r.stderr).toBe(0);
    // The person at the phone was told what to do while "Trust This Computer?" was showing.
    expect(r.stderr).toMatch(/Trust This Computer.*Unlock your iPhone and tap Trust/);
    const report = reportOf(r.stdout);
    expect(report.failed).toBe(0);
    expect(report.assets).toBe(520);
    expect(report.copied).toBe(520);
    await expectExactCopy(join(root, 'out'));
    expect(sim.pairRecord(phone.udid)?.HostID).toEqual(expect.any(String));
  });

  it('a rerun copies nothing', async () => {
    const served = phone.bytesServed;
    const r = await run('phone');
    expect(r.code, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report).toMatchObject({ copied: 0, failed: 0, bytesCopied: 0 });
    expect(report.skipped).toBe(520);
    // Metadata comes from the source's cache and nothing is copied: not one file byte is read.
    expect(phone.bytesServed - served).toBe(0);
  });

  it('the cable pulled mid-video: that run fails cleanly, the next run completes the files exactly', async () => {
    let pulled: string | undefined;
    phone.readObserver = (path, offset) => {
      const f = phone.fs.files.get(path);
      if (!pulled && f && f.content.size >= 5 * 1024 * 1024 && offset >= 2 * 1024 * 1024) {
        pulled = path;
        setImmediate(() => sim.detach(phone));
      }
    };
    const cut = await run('cut');
    phone.readObserver = undefined;
    expect(pulled, 'the simulator saw a large video being read').toBeDefined();
    expect(cut.code).not.toBe(0);
    const cutTree = await hashTree(join(root, 'out-cut'));
    // Whatever landed is a complete, correct file: nothing partial under a final name.
    for (const e of cutTree.values()) expect(phoneHashes.has(e.sha256), `${e.path} is not a complete phone file`).toBe(true);
    expect(cutTree.size).toBeLessThan(phoneFiles);

    sim.attach(phone);
    const again = await run('cut');
    expect(again.code, again.stderr).toBe(0);
    expect(reportOf(again.stdout).failed).toBe(0);
    await expectExactCopy(join(root, 'out-cut'));
  });
});
