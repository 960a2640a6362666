import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@keepsake/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ICloudSink, resolveBridge } from './icloud-sink.js';
import { ImportLog } from './import-log.js';
import { normalizeICloudOptions } from './options.js';
import type { RunOsascript } from './photos-import.js';
import { livePhoto, memoryResource, memoryResume, putContext, sha256 } from './test-support.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ks-icloud-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const env = (platform: NodeJS.Platform, extra: Partial<Parameters<typeof resolveBridge>[1]> = {}) => ({
  platform,
  env: { USERPROFILE: 'C:\\Users\\Ana' },
  configDir: '/home/ana/keepsake',
  storageDir: '/home/ana/.local/share/keepsake/plugin-icloud',
  ...extra,
});

describe('choosing the bridge', () => {
  it('Linux: NOT_SUPPORTED without a path, a folder bridge with one (relative to the config file)', async () => {
    await expect(resolveBridge(normalizeICloudOptions({}), env('linux'))).rejects.toMatchObject({ code: 'NOT_SUPPORTED', classification: 'fatal' });
    expect(await resolveBridge(normalizeICloudOptions({ path: 'inbox' }), env('linux'))).toEqual({ kind: 'folder', root: '/home/ana/keepsake/inbox', why: 'option' });
    await expect(resolveBridge(normalizeICloudOptions({ mode: 'photos-app' }), env('linux'))).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });

  it('Windows: detects the iCloud Photos folder, or says it is missing', async () => {
    const found = await resolveBridge(normalizeICloudOptions({}), env('win32', { isDirectory: async (p) => p === 'C:\\Users\\Ana\\Pictures\\iCloud Photos\\Photos' }));
    expect(found).toEqual({ kind: 'folder', root: 'C:\\Users\\Ana\\Pictures\\iCloud Photos\\Photos', why: 'icloud-for-windows' });
    await expect(resolveBridge(normalizeICloudOptions({}), env('win32', { isDirectory: async () => false }))).rejects.toMatchObject({
      code: 'ICLOUD_FOLDER_NOT_FOUND',
    });
  });

  it('macOS: Photos.app by default, a watched folder with mode folder', async () => {
    expect(await resolveBridge(normalizeICloudOptions({}), env('darwin'))).toEqual({
      kind: 'photos-app',
      stagingRoot: '/home/ana/.local/share/keepsake/plugin-icloud/photos-import',
    });
    expect(await resolveBridge(normalizeICloudOptions({ mode: 'folder', path: '/Users/ana/Inbox' }), env('darwin'))).toMatchObject({ kind: 'folder' });
    await expect(resolveBridge(normalizeICloudOptions({ mode: 'folder' }), env('darwin'))).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });

  it('rejects unknown template tokens in album', () => {
    expect(() => normalizeICloudOptions({ album: '{yyyy} {nope}' })).toThrow(/nope/);
  });
});

describe('folder bridge (Linux, configured folder)', () => {
  const folderSink = (root: string) => new ICloudSink({ bridge: { kind: 'folder', root, why: 'option' }, options: normalizeICloudOptions({ path: root }), logger: silentLogger });

  it('writes a Live Photo pair under its own names, read back and verified; AAE is not handed to iCloud', async () => {
    const root = tempDir();
    const sink = folderSink(root);
    const asset = livePhoto('IMG_0001');
    const receipt = await sink.put(asset, putContext());
    expect(readdirSync(root).sort()).toEqual(['IMG_0001.HEIC', 'IMG_0001.MOV']);
    // every resource is accounted for; the AAE is reported as not stored, with its real hash
    expect(receipt.items.map((i) => [i.name, !!i.skipped, i.verified])).toEqual([
      ['IMG_0001.HEIC', false, true],
      ['IMG_0001.MOV', false, true],
      ['IMG_0001.AAE', true, false],
    ]);
    expect(receipt.items[2]!.hashes.sha256).toBe(asset.resources[2]!.sha256);
    for (const item of receipt.items.slice(0, 2)) {
      const onDisk = readFileSync(join(root, item.location));
      expect(sha256(onDisk)).toBe(item.hashes.sha256);
      expect(item.verified).toBe(true);
    }
    expect(receipt.items.map((i) => i.hashes.sha256)).toEqual(asset.resources.map((r) => r.sha256));
    // capture date kept as mtime
    expect(statSync(join(root, 'IMG_0001.HEIC')).mtimeMs).toBe(Date.UTC(2024, 5, 1, 10, 20, 30));
    expect(await sink.verify(receipt.items[0]!, { signal: new AbortController().signal })).toMatchObject({ status: 'ok' });
  });

  it('is idempotent: a rerun writes nothing and reports deduped', async () => {
    const root = tempDir();
    const asset = livePhoto('IMG_0002');
    await folderSink(root).put(asset, putContext());
    const again = await folderSink(root).put(asset, putContext());
    expect(again.items.slice(0, 2).every((i) => i.deduped === true && i.verified)).toBe(true);
    expect(readdirSync(root).sort()).toEqual(['IMG_0002.HEIC', 'IMG_0002.MOV']);
  });

  it('never overwrites a different file: both parts of the pair move to the same counter', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'IMG_0003.MOV'), 'someone else’s video');
    const receipt = await folderSink(root).put(livePhoto('IMG_0003'), putContext());
    expect(receipt.items.slice(0, 2).map((i) => i.location)).toEqual(['IMG_0003 (2).HEIC', 'IMG_0003 (2).MOV']);
    expect(readFileSync(join(root, 'IMG_0003.MOV'), 'utf8')).toBe('someone else’s video');
  });

  it('verify reports missing and corrupt copies', async () => {
    const root = tempDir();
    const sink = folderSink(root);
    const [still, motion] = (await sink.put(livePhoto('IMG_0004'), putContext())).items;
    writeFileSync(join(root, still!.location), 'changed');
    await rm(join(root, motion!.location));
    const signal = new AbortController().signal;
    expect((await sink.verify(still!, { signal })).status).toBe('corrupt');
    expect((await sink.verify(motion!, { signal })).status).toBe('missing');
  });

  it('a source that fails mid-stream leaves no partial file', async () => {
    const root = tempDir();
    const broken = { ...memoryResource('IMG_0005.JPG', randomBytes(10)), sha256: 'f'.repeat(64) };
    broken.open = () =>
      (async function* () {
        yield new Uint8Array(100_000);
        throw new Error('device unplugged');
      })();
    await expect(folderSink(root).put({ id: 'IMG_0005', kind: 'photo', resources: [broken] }, putContext())).rejects.toMatchObject({ code: 'SINK_WRITE_FAILED' });
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('Photos.app bridge (macOS, osascript injected)', () => {
  it('stages the pair, imports it in one call, and a retry after the import does not import again', async () => {
    const staging = tempDir();
    const calls: string[][] = [];
    const run: RunOsascript = async (args) => {
      calls.push(args);
      // the files must be complete when Photos is asked to import them
      for (const f of args.slice(-2)) expect(statSync(f).size).toBeGreaterThan(0);
      return { stdout: 'UUID-1/L0/001\n', stderr: '' };
    };
    const options = normalizeICloudOptions({ album: 'keepsake {yyyy}' });
    const sink = new ICloudSink({ bridge: { kind: 'photos-app', stagingRoot: staging }, options, logger: silentLogger, runOsascript: run });
    expect(sink.capabilities.canVerify).toBe(false);
    const resume = memoryResume();
    const asset = { ...livePhoto('IMG_0006'), id: '100APPLE/IMG_0006' };
    const first = await sink.put(asset, putContext(resume));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.slice(-3)).toEqual([
      'album=keepsake 2024',
      join(staging, '100APPLE_IMG_0006', 'IMG_0006.HEIC'),
      join(staging, '100APPLE_IMG_0006', 'IMG_0006.MOV'),
    ]);
    expect(first.items.map((i) => [i.remoteId, i.verified, !!i.skipped])).toEqual([
      ['UUID-1/L0/001', false, false],
      ['UUID-1/L0/001', false, false],
      [undefined, false, true],
    ]);
    const second = await sink.put(asset, putContext(resume));
    expect(calls).toHaveLength(1);
    expect(second.items.map((i) => i.remoteId)).toEqual(['UUID-1/L0/001', 'UUID-1/L0/001', undefined]);
    expect(await sink.verify(first.items[0]!, { signal: new AbortController().signal })).toMatchObject({ status: 'unverifiable' });
  });

  it('a later run (fresh resume state) finds the import in the log and does not import again', async () => {
    const staging = tempDir();
    const log = new ImportLog(tempDir(), 'system-photo-library');
    let imports = 0;
    const make = () =>
      new ICloudSink({
        bridge: { kind: 'photos-app', stagingRoot: staging },
        options: normalizeICloudOptions({}),
        logger: silentLogger,
        importLog: log,
        runOsascript: async () => {
          imports++;
          return { stdout: `ID-${imports}\n`, stderr: '' };
        },
      });
    const asset = livePhoto('IMG_0008');
    const first = await make().put(asset, putContext());
    const again = await make().put(asset, putContext());
    expect(imports).toBe(1);
    expect(again.items.map((i) => i.remoteId)).toEqual(first.items.map((i) => i.remoteId));
    // different bytes under the same name are a different photo: imported
    await make().put(livePhoto('IMG_0008'), putContext());
    expect(imports).toBe(2);
  });

  it('keepStaged: false removes the staged copy after a successful import', async () => {
    const staging = tempDir();
    const sink = new ICloudSink({
      bridge: { kind: 'photos-app', stagingRoot: staging },
      options: normalizeICloudOptions({ keepStaged: false }),
      logger: silentLogger,
      runOsascript: async () => ({ stdout: 'A\nB\n', stderr: '' }),
    });
    const r = await sink.put(livePhoto('IMG_0007'), putContext());
    expect(r.items.map((i) => i.remoteId)).toEqual(['A', 'B', undefined]);
    expect(readdirSync(staging)).toEqual([]);
  });
});
