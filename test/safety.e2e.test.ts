import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { bytesFor } from './helpers/files.js';
import { tempDirs } from './helpers/temp.js';

const temps = tempDirs();
afterAll(() => temps.cleanup());
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A card with photos and a Live Photo pair (same base name), two folder sinks, one marked off-site. */
async function setup() {
  const root = await temps.make('safety-');
  const card = join(root, 'card', 'DCIM', '100APPLE');
  await mkdir(card, { recursive: true });
  // the folder sink never creates its root (an unmounted disk must not look like an empty folder)
  await mkdir(join(root, 'nas'));
  await mkdir(join(root, 'offsite'));
  for (let i = 1; i <= 6; i++) await writeFile(join(card, `IMG_000${i}.JPG`), bytesFor(`photo${i}`, 20_000 + i));
  await writeFile(join(card, 'IMG_0007.JPG'), bytesFor('live-still', 30_000));
  await writeFile(join(card, 'IMG_0007.MOV'), bytesFor('live-video', 90_000));
  // whole-second mtimes, so a test can edit a file and put back exactly the same mtime
  const t = new Date('2024-06-01T10:00:00Z');
  for (const f of readdirSync(card)) utimesSync(join(card, f), t, t);
  const config = {
    ledger: 'ledger.sqlite',
    pipelines: {
      card: {
        source: { use: 'folder', with: { path: 'card' } },
        sinks: [
          { use: 'folder', with: { path: 'nas', template: 'photos' } },
          { use: 'folder', with: { path: 'offsite', template: 'photos' }, offsite: true },
        ],
      },
    },
  };
  writeFileSync(join(root, 'keepsake.config.json'), JSON.stringify(config, null, 2));
  const env = { KEEPSAKE_DATA_DIR: join(root, 'data'), KEEPSAKE_CONFIG_DIR: join(root, 'cfg') };
  const cli = (...args: string[]) => runCli(args, { cwd: root, env });
  const run = await cli('run', '--json');
  expect(run.code, run.stderr).toBe(0);
  return { root, card, cli };
}

describe('verify, status, prune', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    ctx = await setup();
  });

  it('status --json: every asset has 2 verified copies, one off-site', async () => {
    const r = await ctx.cli('status', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.overall.assets).toBe(7);
    expect(s.overall.copies.assets).toEqual([0, 0, 7, 0]);
    expect(s.overall.offsite).toBe(7);
    expect(s.overall.atRisk).toBe(0);
    expect(s.sinks).toHaveLength(2);
    // both sink folders of this test live on one disk: counted, and said
    expect(s.sameDisk).toEqual([{ sinkKeys: expect.arrayContaining(s.sinks.map((k: { sinkKey: string }) => k.sinkKey)) }]);
    expect((await ctx.cli('status')).stdout).toMatch(/note: folder:\S+ and folder:\S+ are on the same disk: they count as copies, but one disk failure loses them together/);
  });

  it('flipping one byte in a sink copy: verify exits 1 naming it; --repair restores it', async () => {
    const victim = join(ctx.root, 'nas', 'photos', 'IMG_0003.JPG');
    const good = sha(victim);
    const bytes = readFileSync(victim);
    bytes[100]! ^= 0x01;
    writeFileSync(victim, bytes);
    const v = await ctx.cli('verify');
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/CORRUPT: DCIM\/100APPLE\/IMG_0003 → folder:.*nas photos\/IMG_0003\.JPG/);
    const repaired = await ctx.cli('verify', '--repair');
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/Repaired 1 of 1/);
    expect(sha(victim)).toBe(good);
    const again = await ctx.cli('verify');
    expect(again.code, again.stdout).toBe(0);
  });

  it('prune: --dry-run deletes nothing; a copy deleted behind keepsake\'s back keeps that asset; a Live Photo whose video has one copy is kept', async () => {
    // the video of the Live Photo loses its off-site copy, and verify notices
    unlinkSync(join(ctx.root, 'offsite', 'photos', 'IMG_0007.MOV'));
    const v = await ctx.cli('verify');
    expect(v.code).toBe(1);
    // a copy of IMG_0005 vanishes and nobody tells keepsake: the re-check before deleting must catch it
    unlinkSync(join(ctx.root, 'nas', 'photos', 'IMG_0005.JPG'));
    // IMG_0006 is edited in place on the card (same size, mtime put back): its new bytes have no copy
    const six = join(ctx.card, 'IMG_0006.JPG');
    const before = statSync(six);
    const edited = readFileSync(six);
    edited[10]! ^= 0xff;
    writeFileSync(six, edited);
    utimesSync(six, before.atime, before.mtime);

    const dry = await ctx.cli('prune', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.mode).toBe('dry-run');
    expect(plan.kept.map((k: { assetId: string }) => k.assetId)).toEqual(['DCIM/100APPLE/IMG_0007']);
    for (let i = 1; i <= 7; i++) expect(existsSync(join(ctx.card, `IMG_000${i}.JPG`))).toBe(true);

    const r = await ctx.cli('prune', '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.mode).toBe('deleted');
    expect(report.deleted).toBe(4);
    expect(report.kept.map((k: { assetId: string }) => k.assetId).sort()).toEqual(['DCIM/100APPLE/IMG_0005', 'DCIM/100APPLE/IMG_0006', 'DCIM/100APPLE/IMG_0007']);
    expect(report.kept.find((k: { assetId: string }) => k.assetId === 'DCIM/100APPLE/IMG_0006').reason).toMatch(/changed since it was backed up/);
    for (const i of [1, 2, 3, 4]) expect(existsSync(join(ctx.card, `IMG_000${i}.JPG`))).toBe(false);
    expect(existsSync(six)).toBe(true);
    expect(existsSync(join(ctx.card, 'IMG_0005.JPG'))).toBe(true);
    expect(existsSync(join(ctx.card, 'IMG_0007.JPG'))).toBe(true);
    expect(existsSync(join(ctx.card, 'IMG_0007.MOV'))).toBe(true);
    // pruned assets stay in the audit (the sinks hold their only copies) and count as protected;
    // IMG_0005 (a copy gone) and IMG_0007 (its video's off-site copy gone) are at risk
    const s = JSON.parse((await ctx.cli('status', '--json')).stdout);
    expect(s.overall).toMatchObject({ assets: 7, pruned: 4, protected: 5, atRisk: 2 });
    expect(s.sources).toMatchObject([{ assets: 7, pruned: 4 }]);
    expect(s.atRisk.map((a: { assetId: string }) => a.assetId)).toEqual(['DCIM/100APPLE/IMG_0005', 'DCIM/100APPLE/IMG_0007']);
    // without --yes and no terminal, prune refuses; a second prune plans none of the pruned ones
    // (only IMG_0006 again: a dry run does not re-read the card, the deleting pass does)
    const refused = await ctx.cli('prune');
    expect(refused.code).toBe(2);
    const again = JSON.parse((await ctx.cli('prune', '--dry-run', '--json')).stdout);
    expect(again.candidates.map((c: { assetId: string }) => c.assetId)).toEqual(['DCIM/100APPLE/IMG_0006']);
  });

  it('a pruned photo whose copy is deleted behind keepsake\'s back: verify notices, status lists it at risk first, --repair cannot re-copy it', async () => {
    unlinkSync(join(ctx.root, 'offsite', 'photos', 'IMG_0002.JPG'));
    const v = await ctx.cli('verify');
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/MISSING: DCIM\/100APPLE\/IMG_0002 → folder:.*offsite photos\/IMG_0002\.JPG/);
    const s = JSON.parse((await ctx.cli('status', '--json')).stdout);
    expect(s.overall).toMatchObject({ assets: 7, pruned: 4, protected: 4, atRisk: 3 });
    expect(s.atRisk[0]).toMatchObject({ assetId: 'DCIM/100APPLE/IMG_0002', copies: 1, offsiteCopies: 0, prunedAt: expect.any(String) });
    expect(s.atRisk[0].reason).toMatch(/^1 verified copy, needs 2; pruned from the source on \d{4}-\d\d-\d\d, so the source no longer has it and verify --repair cannot copy it again from there$/);
    const text = await ctx.cli('status');
    expect(text.stdout).toMatch(/pruned {6}4 items were deleted from their source by prune; the copies are all that is left \(1 of them at risk\)/);
    expect(text.stdout).toMatch(/source folder:\S+card: 7 items \(4 pruned from it\), 4 protected, 3 at risk/);
    expect(text.stdout).toMatch(/At risk:\n {2}DCIM\/100APPLE\/IMG_0002 {2}\(2024-06-01\) {2}1 verified copy, needs 2; pruned from the source/);
    // --repair copies IMG_0005 and IMG_0007's video again from the card; the pruned photo stays at risk
    const repaired = await ctx.cli('verify', '--repair');
    expect(repaired.code).toBe(1);
    expect(repaired.stdout).toMatch(/NOT REPAIRED: DCIM\/100APPLE\/IMG_0002 → folder:.*offsite photos\/IMG_0002\.JPG/);
    const after = JSON.parse((await ctx.cli('status', '--json')).stdout);
    expect(after.overall).toMatchObject({ assets: 7, pruned: 4, atRisk: 1 });
    expect(after.atRisk.map((a: { assetId: string }) => a.assetId)).toEqual(['DCIM/100APPLE/IMG_0002']);
  });
});

describe('status --html in a real browser', () => {
  it('renders in headless Chromium with the same numbers as the JSON', async () => {
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
    if (!chromium) {
      if (process.env.CI) throw new Error('chromium is required in CI (.ci/run installs it)');
      console.warn('skipping: chromium is not installed');
      return;
    }
    const c = await setup();
    unlinkSync(join(c.root, 'offsite', 'photos', 'IMG_0002.JPG'));
    await c.cli('verify');
    const html = join(c.root, 'report.html');
    const r = await c.cli('status', '--json', '--html', html);
    const json = JSON.parse(r.stdout);
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(c.root, 'chrome')}`];
    const dom = spawnSync(chromium, [...flags, '--dump-dom', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    expect(dom.status, dom.stderr).toBe(0);
    const metric = (name: string) => Number(dom.stdout.match(new RegExp(`data-metric="${name}">([\\d,]+)<`))![1]!.replace(/,/g, ''));
    expect(metric('assets')).toBe(json.overall.assets);
    expect(metric('protected')).toBe(json.overall.protected);
    expect(metric('atRisk')).toBe(json.overall.atRisk);
    expect(metric('offsite')).toBe(json.overall.offsite);
    expect(json.overall.atRisk).toBe(1);
    expect(dom.stdout).toContain('DCIM/100APPLE/IMG_0002');
    const png = join(c.root, 'report.png');
    const shot = spawnSync(chromium, [...flags, `--screenshot=${png}`, '--window-size=1000,1400', `file://${html}`], { encoding: 'utf8', timeout: 60_000 });
    expect(shot.status, shot.stderr).toBe(0);
    expect(statSync(png).size).toBeGreaterThan(10_000);
  });
});
