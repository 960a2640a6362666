/**
 * The icloud sink's folder bridge inside core's real pipeline and ledger on Linux with a
 * configured folder: every file lands atomically and read back, a Live Photo keeps its pair of
 * names, the AAE sidecar is accounted for but not handed over, a rerun moves nothing; and without
 * a folder, Linux gets a clear NOT_SUPPORTED before anything runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Asset, createFileSecretStore, Ledger, type Resource, runPipeline, type Sink, silentLogger, type Source } from '@keepsake/core';
import { icloudSink } from '@keepsake/plugin-icloud';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
function resource(name: string, bytes: Uint8Array, role: Resource['role'] = 'original'): Resource {
  return {
    role,
    name,
    key: `gen/${name}`,
    size: bytes.byteLength,
    mtimeMs: Date.parse('2024-06-01T10:00:00Z'),
    mediaType: 'application/octet-stream',
    open: ({ offset = 0 } = {}) =>
      (async function* () {
        for (let at = offset; at < bytes.byteLength; at += 65_536) yield bytes.subarray(at, at + 65_536);
      })(),
  };
}
const sourceOf = (assets: Asset[]): Source => ({
  key: 'e2e:generated',
  capabilities: { expensiveReads: false, canDelete: false },
  async *scan() {
    yield* assets;
  },
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-e2e-icloud-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const fctx = () => ({
  logger: silentLogger,
  secrets: createFileSecretStore(join(dir, 'secrets.json')),
  storageDir: join(dir, 'storage'),
  configDir: dir,
  signal: new AbortController().signal,
  env: {},
});
const run = (sink: Sink, assets: Asset[], ledger: Ledger) =>
  runPipeline({ name: 'phone-to-icloud', source: sourceOf(assets), transforms: [], sinks: [{ sink, use: 'icloud', transforms: [], offsite: true }], close: async () => {} }, { ledger });

describe.runIf(process.platform === 'linux')('icloud folder bridge in the pipeline (Linux)', () => {
  it('writes every file verified into the configured folder; a rerun moves nothing', async () => {
    const ledger = Ledger.open(join(dir, 'ledger.sqlite'));
    const still = randomBytes(300_000);
    const motion = randomBytes(1_200_000);
    const assets: Asset[] = [
      {
        id: 'live-1',
        kind: 'live',
        capturedAt: { local: '2024-06-01T12:00:00', source: 'exif' },
        resources: [resource('IMG_0001.HEIC', still), resource('IMG_0001.MOV', motion, 'motion'), resource('IMG_0001.AAE', Buffer.from('<plist/>'), 'adjustments')],
      },
      { id: 'photo-2', kind: 'photo', resources: [resource('IMG_0002.JPG', randomBytes(90_000))] },
    ];
    // relative `path` resolves against the config file's folder
    const sink = await icloudSink.create({ mode: 'auto', keepStaged: true, path: 'iCloud Inbox' }, fctx());
    const first = await run(sink, assets, ledger);
    expect(first).toMatchObject({ copied: 2, failed: 0 });
    const inbox = join(dir, 'iCloud Inbox');
    expect((await readdir(inbox)).sort()).toEqual(['IMG_0001.HEIC', 'IMG_0001.MOV', 'IMG_0002.JPG']);
    expect(sha256(await readFile(join(inbox, 'IMG_0001.MOV')))).toBe(sha256(motion));
    expect(sha256(await readFile(join(inbox, 'IMG_0001.HEIC')))).toBe(sha256(still));
    const second = await run(await icloudSink.create({ mode: 'auto', keepStaged: true, path: 'iCloud Inbox' }, fctx()), assets, ledger);
    expect(second).toMatchObject({ copied: 0, skipped: 2, failed: 0 });
    ledger.close();
  });

  it('without a folder Linux is NOT_SUPPORTED, with a hint', async () => {
    await expect(icloudSink.create({ mode: 'auto', keepStaged: true }, fctx())).rejects.toMatchObject({ code: 'NOT_SUPPORTED', hint: expect.stringContaining('path') });
  });
});
