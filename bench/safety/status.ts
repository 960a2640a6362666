/**
 * `status` over a 100k-asset ledger (issue 9 target: ≤ 2 s).
 *
 * Builds an on-disk ledger the way a few years of backups leave it, through the Ledger's public
 * methods in one transaction (driving runPipeline for 100k assets would take minutes and measure
 * the copy, not the audit):
 *   - two pipelines: "phone" (iPhone source → 2 local folders + 1 off-site folder) and
 *     "camera" (SD card → 2 local folders);
 *   - 68 % single photos, 30 % Live Photos (still + video), 2 % edited photos with an .AAE
 *     (3 resources), captured 2014–2026;
 *   - at-risk cases: assets never delivered to some sinks, a Live Photo whose video was stored but
 *     not verified on one sink (that delivery does not count), failed deliveries, assets still
 *     waiting (pending), and phone assets missing only their off-site copy;
 *   - 30 % of the SD card's assets pruned from the card (they stay in the audit).
 * The expected bucket counts are tallied while generating and checked against computeStatus, so
 * the benchmark fails loudly if it times the wrong thing.
 *
 * Then times, each --reps times (median reported): computeStatus (all pipelines),
 * computeStatus for one pipeline with requireOffsite, renderStatusHtml, computeStatus with a
 * 1 GiB mmap; then as fresh processes: `keepsake status --json` and `--html FILE` (when the CLI has
 * the command), `keepsake --version` (startup floor) and status-once.ts (open + compute + JSON
 * without the CLI).
 *
 *   node bench/safety/status.ts [--assets 100000] [--reps 5]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Asset, Ledger, type ResourceRole, type RunReport, type StoredResource } from '@keepsake/core';
import { computeStatus, renderStatusHtml, type Status } from '@keepsake/safety';
import { describeMachine, median, ms, spawnTimed } from './common.ts';

const { values } = parseArgs({
  options: {
    assets: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '5' },
    /** Keep bench/.work/safety-status (the ledger) afterwards. */
    keep: { type: 'boolean', default: false },
    /** Reuse a ledger kept by an earlier --keep run with the same --assets instead of rebuilding it. */
    reuse: { type: 'boolean', default: false },
  },
});
const ASSETS = Number(values.assets);
const REPS = Number(values.reps);
const root = new URL('../../', import.meta.url).pathname;
const WORK = join(root, `bench/.work/safety-status-${ASSETS}`);
const LEDGER = join(WORK, 'ledger.sqlite');
const CLI = join(root, 'apps/cli/dist/bin.js');

/** Deterministic pseudo-random numbers (mulberry32), so every run builds the same ledger. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SINKS = [
  { sinkKey: 'folder:/srv/nas/Photos', use: 'folder', pipeline: 'phone', offsite: false },
  { sinkKey: 'folder:/media/usb-disk/Photos', use: 'folder', pipeline: 'phone', offsite: false },
  { sinkKey: 'folder:/mnt/offsite-nas/Photos', use: 'folder', pipeline: 'phone', offsite: true },
  { sinkKey: 'folder:/srv/nas/Camera', use: 'folder', pipeline: 'camera', offsite: false },
  { sinkKey: 'folder:/media/usb-disk/Camera', use: 'folder', pipeline: 'camera', offsite: false },
] as const;
const SOURCES = { phone: 'usb:00008110-001A2B3C4D5E801E', camera: 'folder:/media/sdcard/DCIM' } as const;

interface Expected {
  assets: number;
  copies: [number, number, number, number];
  offsite: number;
  atRiskMin2: number;
  pruned: number;
}

/** Fills the ledger; returns the counts computeStatus must report (minCopies 2). */
function buildLedger(ledger: Ledger, n: number): Expected {
  const rand = rng(9);
  const expected: Expected = { assets: 0, copies: [0, 0, 0, 0], offsite: 0, atRiskMin2: 0, pruned: 0 };
  ledger.transaction(() => {
    const runs = { phone: ledger.beginRun('phone'), camera: ledger.beginRun('camera') };
    ledger.registerPipelineSource('phone', SOURCES.phone, runs.phone);
    ledger.registerPipelineSource('camera', SOURCES.camera, runs.camera);
    for (const s of SINKS) ledger.registerSink({ ...s, canVerify: true }, runs[s.pipeline]);
    for (let i = 0; i < n; i++) {
      const pipeline = i % 10 === 9 ? 'camera' : 'phone'; // 90 % phone, 10 % SD card
      const sinks = SINKS.filter((s) => s.pipeline === pipeline);
      const r = rand();
      const kind = r < 0.68 ? 'photo' : r < 0.98 ? 'live' : 'edited';
      const year = 2014 + Math.floor(rand() * 13);
      const month = String(1 + Math.floor(rand() * 12)).padStart(2, '0');
      const day = String(1 + Math.floor(rand() * 28)).padStart(2, '0');
      const num = String(i % 10000).padStart(4, '0');
      const base = `IMG_${num}`;
      const id = `${base}-${i}`;
      const still: { key: string; role: ResourceRole; name: string; size: number } = { key: `DCIM/${100 + Math.floor(i / 10000)}APPLE/${base}.HEIC`, role: 'original', name: `${base}.HEIC`, size: 1_500_000 + Math.floor(rand() * 2_500_000) };
      const parts = [still];
      if (kind === 'live') parts.push({ key: `${still.key.slice(0, -5)}.MOV`, role: 'motion' as const, name: `${base}.MOV`, size: 2_000_000 + Math.floor(rand() * 2_000_000) });
      if (kind === 'edited') {
        parts.push({ key: `${still.key.slice(0, -5)}E.JPG`, role: 'edited' as const, name: `${base}E.JPG`, size: 2_000_000 });
        parts.push({ key: `${still.key.slice(0, -5)}.AAE`, role: 'adjustments' as const, name: `${base}.AAE`, size: 1_200 });
      }
      const resources = parts.map((p) => ({ ...p, mtimeMs: 1_700_000_000_000 + i, sha256: createHash('sha256').update(`${pipeline}/${i}/${p.key}`).digest('hex') }));
      const asset: Asset = {
        id,
        kind: kind === 'live' ? 'live' : 'photo',
        capturedAt: { local: `${year}-${month}-${day}T12:${num.slice(0, 2)}:${num.slice(2)}`, offset: '+01:00', source: 'exif' },
        resources: resources.map((res) => ({ ...res, open: () => { throw new Error('not read by status'); } })),
      };
      const assetKey = `${pipeline}:${i}`;
      ledger.recordAsset(SOURCES[pipeline], assetKey, asset, runs[pipeline]);

      // what happened at each sink
      const fate = rand();
      let verifiedSinks = sinks.length;
      let offsiteOk = pipeline === 'phone';
      const outcome: ('verified' | 'absent' | 'failed' | 'pending' | 'video-unverified')[] = sinks.map(() => 'verified');
      if (fate < 0.01) {
        outcome.fill('absent', 1); // only the first sink has it
      } else if (fate < 0.015) {
        outcome.fill('pending'); // scanned, nothing copied yet (run interrupted)
      } else if (fate < 0.02 && kind === 'live') {
        outcome[0] = 'video-unverified'; // the Live Photo's video did not verify on one sink
      } else if (fate < 0.025) {
        outcome[1] = 'failed';
      } else if (fate < 0.06 && pipeline === 'phone') {
        outcome[2] = 'absent'; // the off-site copy has not caught up yet
      }
      sinks.forEach((s, k) => {
        const o = outcome[k]!;
        if (o !== 'verified') {
          verifiedSinks--;
          if (s.offsite) offsiteOk = false;
        }
        if (o === 'absent') return;
        const deliveryId = ledger.startDelivery(assetKey, s.sinkKey, '');
        if (o === 'pending') return;
        if (o === 'failed') {
          ledger.failDelivery(deliveryId, 'SINK_WRITE_FAILED: disk full');
          return;
        }
        const items: StoredResource[] = resources.map((res) => ({
          resourceKey: res.key,
          role: res.role,
          name: res.name,
          location: `${year}/${month}/${res.name}`,
          size: res.size,
          hashes: { sha256: res.sha256, crc32: res.sha256.slice(0, 8) },
          verified: !(o === 'video-unverified' && res.role === 'motion'),
        }));
        ledger.completeDelivery(deliveryId, { items }, createHash('sha256').update(resources.map((x) => x.sha256).join()).digest('hex'));
      });
      // prune freed the card of older camera shots (whatever their copies say now: status counts them all)
      if (pipeline === 'camera' && rand() < 0.3) {
        ledger.markDeleted(assetKey, null);
        expected.pruned++;
      }
      expected.assets++;
      expected.copies[Math.min(verifiedSinks, 3)]!++;
      if (offsiteOk) expected.offsite++;
      if (verifiedSinks < 2) expected.atRiskMin2++;
    }
    for (const [pipeline, runId] of Object.entries(runs)) ledger.endRun(runId, runReport(pipeline, runId));
  });
  return expected;
}

function runReport(pipeline: string, runId: number): RunReport {
  const at = new Date().toISOString();
  return { pipeline, runId, startedAt: at, endedAt: at, aborted: false, dryRun: false, assets: 0, copied: 0, skipped: 0, deduped: 0, planned: 0, failed: 0, bytesCopied: 0, failures: [], diagnostics: [] };
}

function check(status: Status, e: Expected): void {
  const o = status.overall;
  const got = { assets: o.assets, copies: o.copies.assets, offsite: o.offsite, atRiskMin2: o.atRisk, pruned: o.pruned };
  if (JSON.stringify(got) !== JSON.stringify(e)) throw new Error(`computeStatus disagrees with the generator:\n got ${JSON.stringify(got)}\n want ${JSON.stringify(e)}`);
}

/** Wall seconds, plus this process's CPU seconds (user + system): the machine is shared, CPU time shows what the work itself costs. */
function timeSync<T>(fn: () => T): { s: number; cpu: number; value: T } {
  const c = process.cpuUsage();
  const t = performance.now();
  const value = fn();
  const d = process.cpuUsage(c);
  return { s: (performance.now() - t) / 1000, cpu: (d.user + d.system) / 1e6, value };
}

const EXPECTED = join(WORK, `expected-${ASSETS}.json`);
console.log(describeMachine());
let expected: Expected;
if (values.reuse && existsSync(EXPECTED)) {
  expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as Expected;
  console.log(`reusing ${LEDGER} (${(statSync(LEDGER).size / 1e6).toFixed(1)} MB)`);
} else {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const build = timeSync(() => {
    const ledger = Ledger.open(LEDGER);
    try {
      return buildLedger(ledger, ASSETS);
    } finally {
      ledger.close();
    }
  });
  expected = build.value;
  writeFileSync(EXPECTED, JSON.stringify(expected));
  console.log(`built ledger: ${ASSETS} assets in ${build.s.toFixed(1)} s (cpu ${build.cpu.toFixed(1)} s), ${(statSync(LEDGER).size / 1e6).toFixed(1)} MB`);
}
console.log(`expected: ${JSON.stringify(expected)}`);

// a fresh process-like open: the CLI opens the ledger, computes once, exits
const ledger = Ledger.open(LEDGER);
const all: number[] = [];
const allCpu: number[] = [];
const one: number[] = [];
const oneCpu: number[] = [];
const html: number[] = [];
let status: Status | undefined;
let htmlBytes = 0;
for (let i = 0; i < REPS; i++) {
  const a = timeSync(() => computeStatus(ledger));
  all.push(a.s);
  allCpu.push(a.cpu);
  status = a.value;
  check(status, expected);
  const b = timeSync(() => computeStatus(ledger, { pipeline: 'phone', requireOffsite: true }));
  one.push(b.s);
  oneCpu.push(b.cpu);
  const h = timeSync(() => renderStatusHtml(status!));
  html.push(h.s);
  htmlBytes = h.value.length;
}
// the same with the whole ledger file mmapped (Ledger.open maps 256 MiB; this ledger is 313 MB) and
// temp B-trees in memory; the Ledger's db handle is public, so this needs no core change to measure
ledger.db.exec('PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY;');
const mm: number[] = [];
const mmCpu: number[] = [];
for (let i = 0; i < REPS; i++) {
  const a = timeSync(() => computeStatus(ledger));
  check(a.value, expected);
  mm.push(a.s);
  mmCpu.push(a.cpu);
}
ledger.close();
console.log(`computeStatus (all)                   wall  ${all.map(ms).join(' ')}  median ${ms(median(all))}`);
console.log(`                                      cpu   ${allCpu.map(ms).join(' ')}  median ${ms(median(allCpu))}`);
console.log(`computeStatus (phone, requireOffsite) wall  ${one.map(ms).join(' ')}  median ${ms(median(one))}`);
console.log(`                                      cpu   ${oneCpu.map(ms).join(' ')}  median ${ms(median(oneCpu))}`);
console.log(`computeStatus (all), mmap_size 1 GiB  wall  ${mm.map(ms).join(' ')}  median ${ms(median(mm))}`);
console.log(`                                      cpu   ${mmCpu.map(ms).join(' ')}  median ${ms(median(mmCpu))}`);
console.log(`renderStatusHtml (${(htmlBytes / 1e6).toFixed(2)} MB page)            ${html.map(ms).join(' ')}  median ${ms(median(html))}`);
console.log(`at risk: ${status!.overall.atRisk} of ${status!.overall.assets}; years: ${status!.years.length}`);

function printProcess(name: string, rs: { s: number; cpu: number }[]): void {
  console.log(`${`${name} (process)`.padEnd(37)} wall  ${rs.map((r) => ms(r.s)).join(' ')}  median ${ms(median(rs.map((r) => r.s)))}`);
  console.log(`${''.padEnd(37)} cpu   ${rs.map((r) => ms(r.cpu)).join(' ')}  median ${ms(median(rs.map((r) => r.cpu)))}`);
}

// end to end through the CLI (a fresh node process: startup + open + query + JSON out)
const cliHasStatus = existsSync(CLI) && spawnSync(process.execPath, [CLI, 'status', '--help'], { encoding: 'utf8' }).status === 0;
if (cliHasStatus) {
  const config = join(WORK, 'keepsake.config.json');
  const step = (p: string) => ({ use: 'folder', with: { path: p } });
  writeFileSync(
    config,
    JSON.stringify({
      ledger: LEDGER,
      pipelines: {
        phone: { source: step('/media/iphone'), sinks: SINKS.filter((s) => s.pipeline === 'phone').map((s) => step(s.sinkKey.slice(7))) },
        camera: { source: step('/media/sdcard/DCIM'), sinks: SINKS.filter((s) => s.pipeline === 'camera').map((s) => step(s.sinkKey.slice(7))) },
      },
    }),
  );
  const env = { ...process.env, KEEPSAKE_DATA_DIR: WORK, NO_COLOR: '1' };
  const run = (args: string[]) => spawnTimed(process.execPath, [CLI, ...args], { env });
  const cli: { s: number; cpu: number }[] = [];
  const cliHtml: { s: number; cpu: number }[] = [];
  const help: { s: number; cpu: number }[] = [];
  for (let i = 0; i < REPS; i++) {
    const r = run(['status', '--json', '--config', config]);
    cli.push(r);
    check(JSON.parse(r.stdout) as Status, expected);
    cliHtml.push(run(['status', '--html', join(WORK, 'status.html'), '--config', config]));
    help.push(run(['--version']));
  }
  printProcess('keepsake status --json', cli);
  printProcess('keepsake status --html FILE', cliHtml);
  printProcess('keepsake --version (startup only)', help);
} else {
  console.log(`CLI: ${CLI} has no working \`status\` command yet`);
}
{
  // the floor for the CLI: the same steps in a fresh process without the CLI around them
  const once: { s: number; cpu: number }[] = [];
  for (let i = 0; i < REPS; i++) {
    const r = spawnTimed(process.execPath, [join(import.meta.dirname, 'status-once.ts'), LEDGER]);
    check(JSON.parse(r.stdout) as Status, expected);
    once.push(r);
  }
  printProcess('status-once.ts (no CLI)', once);
}
if (!values.keep) rmSync(WORK, { recursive: true, force: true });
