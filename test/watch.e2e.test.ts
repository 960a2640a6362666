import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Simulator, type SimDevice } from '@keepsake/device-sim';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli.js';
import { holdLedgerLock } from './helpers/ledger-lock.js';
import { tempDirs } from './helpers/temp.js';

const temps = tempDirs();
afterAll(() => temps.cleanup());

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

/** Every file the simulated phone serves must be in `out` exactly once, byte for byte. */
function expectComplete(device: SimDevice, out: string) {
  const stored = new Map<string, number>();
  for (const f of files(out)) {
    const h = createHash('sha256').update(readFileSync(f)).digest('hex');
    stored.set(h, (stored.get(h) ?? 0) + 1);
    expect(relative(out, f)).not.toMatch(/keepsake-partial/);
  }
  // every file the phone serves under DCIM arrived, byte for byte
  for (const f of device.fs.files.values()) {
    if (f.denied || !/\/DCIM\//.test(f.path)) continue;
    const h = createHash('sha256');
    for (let off = 0; off < f.content.size; off += 1 << 20) h.update(f.content.read(off, 1 << 20));
    expect(stored.get(h.digest('hex')), f.path).toBe(1);
  }
  expect([...stored.values()].every((n) => n === 1)).toBe(true);
  return stored;
}

/** Starts `keepsake watch --json` and collects its events; `until(pred)` waits for one. */
function watch(root: string, sim: Simulator) {
  const child = spawnCli(['watch', '--json', '--no-notify'], { cwd: root, env: { ...sim.env({}), KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'cfg') } });
  const events: Record<string, any>[] = [];
  let buf = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
  });
  const until = async (pred: (e: Record<string, any>) => boolean, ms = 120_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = events.find(pred);
      if (hit) return hit;
      if (Date.now() > end || child.exitCode !== null) throw new Error(`timed out waiting; events: ${JSON.stringify(events.slice(-10))}\nstderr: ${stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise((r) => child.once('close', r));
    child.kill('SIGINT');
    // a clean stop is expected within seconds; never let a stuck child hang the suite
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await closed;
    clearTimeout(timer);
  };
  return { child, events, until, stop, stderr: () => stderr };
}

async function project(name: string) {
  const root = await temps.make(`watch-${name}-`);
  await mkdir(join(root, 'out'));
  writeFileSync(
    join(root, 'keepsake.config.json'),
    JSON.stringify({ ledger: 'ledger.sqlite', pipelines: { phone: { source: { use: 'iphone' }, sinks: [{ use: 'folder', with: { path: 'out', template: '{yyyy}/{MM}' } }] } } }),
  );
  return root;
}

describe('keepsake watch with the simulated iPhone', () => {
  it('attach → backup; detach mid-run → stops cleanly; re-attach → resumes and completes, byte-exact, no duplicates', async () => {
    const root = await project('resume');
    const sim = await Simulator.start();
    const w = watch(root, sim);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const device = sim.attach({ name: 'Watch Test', cameraRoll: { assets: 40, seed: 7, compact: true, largeVideoBytes: 4 << 20, largeVideoEvery: 10 } });
      device.faults.bytesPerSecond = 2 << 20; // slow enough to pull the cable mid-run
      await w.until((e) => e.type === 'run-start');
      await new Promise((r) => setTimeout(r, 1500));
      sim.detach(device);
      await w.until((e) => e.type === 'run-stopped' && e.reason === 'detached');
      const partial = files(join(root, 'out')).length;
      device.faults.bytesPerSecond = undefined;
      sim.attach(device);
      const end = await w.until((e) => e.type === 'run-end');
      expect(end.result.failed).toBe(0);
      const stored = expectComplete(device, join(root, 'out'));
      const expected = [...device.fs.files.values()].filter((f) => !f.denied && /\/DCIM\//.test(f.path)).length;
      expect(stored.size).toBe(expected);
      expect(partial).toBeLessThan(expected);
    } finally {
      await w.stop();
      await sim.stop();
    }
  });

  it('two phones at once: two runs, neither blocks the other; a locked phone waits, then proceeds after unlock', async () => {
    const root = await project('two');
    const sim = await Simulator.start();
    const w = watch(root, sim);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const a = sim.attach({ name: 'A', cameraRoll: { assets: 12, seed: 1, compact: true, largeVideoEvery: 0 } });
      const b = sim.attach({ name: 'B', locked: true, cameraRoll: { assets: 12, seed: 2, compact: true, largeVideoEvery: 0 } });
      await w.until((e) => e.type === 'run-start' && e.target.includes(b.udid));
      // A finishes while B (locked) is still waiting: neither blocks the other
      const doneA = await w.until((e) => e.type === 'run-end' && e.target.includes(a.udid));
      expect(doneA.result.copied).toBeGreaterThan(0);
      expect(w.events.some((e) => e.type === 'run-end' && e.target.includes(b.udid))).toBe(false);
      // the person is told what to do, in plain words
      const told = Date.now() + 30_000;
      while (!/Unlock your iPhone/.test(w.stderr()) && Date.now() < told) await new Promise((r) => setTimeout(r, 100));
      expect(w.stderr()).toMatch(/Unlock your iPhone/);
      b.locked = false;
      const doneB = await w.until((e) => e.type === 'run-end' && e.target.includes(b.udid));
      expect(doneB.result.failed).toBe(0);
      expect(doneB.result.copied).toBeGreaterThan(0);
    } finally {
      await w.stop();
      await sim.stop();
    }
  });

  it('a phone plugged in while another keepsake holds the ledger waits for it, then backs up', async () => {
    const root = await project('busy');
    const holder = await holdLedgerLock(join(root, 'ledger.sqlite'), 'keepsake run phone (other terminal)');
    const sim = await Simulator.start();
    const w = watch(root, sim);
    try {
      const device = sim.attach({ name: 'Busy Test', cameraRoll: { assets: 6, seed: 3, compact: true, largeVideoEvery: 0 } });
      await w.until((e) => e.type === 'run-start');
      const end = Date.now() + 60_000;
      while (!w.stderr().includes('Waiting for "keepsake run phone (other terminal)"') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(w.stderr()).toContain(`Waiting for "keepsake run phone (other terminal)" (pid ${holder.pid})`);
      await new Promise((r) => setTimeout(r, 500));
      expect(w.events.some((e) => e.type === 'run-end')).toBe(false);
      expect(files(join(root, 'out'))).toEqual([]);
      // unplugged while waiting: that run stops waiting at once, so a re-plug starts a new run
      // (which waits again) instead of queueing behind a run stuck on the other process
      sim.detach(device);
      await w.until((e) => e.type === 'run-stopped' && e.reason === 'detached');
      sim.attach(device);
      await w.until((e) => e.type === 'run-start' && w.events.filter((x) => x.type === 'run-start').length === 2, 15_000);
      await holder.crash(); // the other process goes away; watch takes the lock over
      const done = await w.until((e) => e.type === 'run-end');
      expect(done.result.failed).toBe(0);
      expectComplete(device, join(root, 'out'));
    } finally {
      await holder.crash();
      await w.stop();
      await sim.stop();
    }
  });

  it('a device no pipeline matches gets a clear log line; watch survives usbmuxd restarting', async () => {
    const root = await temps.make('watch-nomatch-');
  await mkdir(join(root, 'out'));
    writeFileSync(
      join(root, 'keepsake.config.json'),
      JSON.stringify({ ledger: 'l.sqlite', pipelines: { p: { source: { use: 'iphone', with: { udid: 'not-this-one' } }, sinks: [{ use: 'folder', with: { path: 'out' } }] } } }),
    );
    const sim = await Simulator.start({ tcpPort: 0 });
    const port = sim.tcpPort!;
    const w = watch(root, sim);
    try {
      sim.attach({ cameraRoll: { assets: 2, compact: true, largeVideoEvery: 0 } });
      await w.until((e) => e.type === 'no-pipeline');
      await sim.stop();
      await w.until((e) => e.type === 'monitor-lost');
      const again = await Simulator.start({ tcpPort: port });
      again.attach({ cameraRoll: { assets: 2, compact: true, largeVideoEvery: 0 } });
      await w.until((e) => e.type === 'no-pipeline' && w.events.filter((x) => x.type === 'no-pipeline').length === 2);
      expect(w.child.exitCode).toBeNull();
      await again.stop();
    } finally {
      await w.stop();
    }
    expect(statSync(root).isDirectory()).toBe(true);
  });
});
