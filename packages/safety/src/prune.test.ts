import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Asset, Ledger, type LoadedConfig, type PluginHost, type PreparedPipeline, runPipeline, type Sink, type Source } from '@keepsake/core';
import { MemorySink, MemorySource, memoryResource } from '@keepsake/core/testing';
import { describe, expect, it } from 'vitest';
import { prune } from './prune.js';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

function photo(i: number): Asset {
  return { id: `100APPLE/IMG_${i}`, kind: 'photo', capturedAt: { local: '2022-06-01T10:00:00', source: 'exif' }, resources: [memoryResource(`IMG_${i}.JPG`, bytes(400 + i, i))] };
}

/** A memory source that can delete: `deleted` lists what prune removed. */
class DeletingSource extends MemorySource {
  deleted: string[] = [];
  onDelete?: (asset: Asset) => void;
  constructor(key: string, assets: Asset[]) {
    super(key, assets, { canDelete: true });
  }
  async delete(asset: Asset): Promise<void> {
    this.onDelete?.(asset);
    this.deleted.push(asset.id);
  }
}

const prepared = (name: string, source: Source, sinks: { sink: Sink; offsite?: boolean }[]): PreparedPipeline => ({
  name,
  source,
  transforms: [],
  sinks: sinks.map((s) => ({ sink: s.sink, use: 'memory', transforms: [], offsite: s.offsite ?? false })),
  close: async () => {},
});

/** The plugin host prune needs: the config's `use` ids map to these instances. */
function fakeHost(source: Source, sinks: Record<string, Sink>): PluginHost {
  return {
    createSource: async () => source,
    createSink: async (step: { use: string; with?: { name?: string } }) => sinks[step.with?.name ?? step.use]!,
  } as unknown as PluginHost;
}

const config = (sinks: { use: string; with?: { name: string }; offsite?: boolean }[]): LoadedConfig => ({
  path: undefined,
  dir: '/',
  config: { pipelines: { p: { source: { use: 'src' }, sinks } } },
});

describe('prune', () => {
  it('off-site comes from the config as it is now, not from a pipeline that once called the sink off-site', async () => {
    const ledger = Ledger.open(':memory:');
    const a = new MemorySink('mem:a');
    const b = new MemorySink('mem:b');
    const source = new DeletingSource('card', [photo(1)]);
    // an earlier pipeline (since renamed) marked b off-site; today's config does not
    await runPipeline(prepared('old', source, [{ sink: a }, { sink: b, offsite: true }]), { ledger });
    await runPipeline(prepared('p', source, [{ sink: a }, { sink: b }]), { ledger });
    const r = await prune({
      ledger,
      host: fakeHost(source, { a, b }),
      config: config([{ use: 'a' }, { use: 'b' }]),
      pipeline: 'p',
      requireOffsite: true,
      signal: new AbortController().signal,
    });
    expect(source.deleted).toEqual([]);
    expect(r.kept).toEqual([{ assetId: '100APPLE/IMG_1', reason: 'IMG_1.JPG has no off-site copy' }]);
    // marked off-site in the config: now it may go
    const ok = await prune({
      ledger,
      host: fakeHost(source, { a, b }),
      config: config([{ use: 'a' }, { use: 'b', offsite: true }]),
      pipeline: 'p',
      requireOffsite: true,
      signal: new AbortController().signal,
    });
    expect(ok.deleted).toBe(1);
  });

  it('Ctrl-C while the source is re-hashed stops cleanly and reports what was already deleted', async () => {
    const ledger = Ledger.open(':memory:');
    const a = new MemorySink('mem:a');
    const b = new MemorySink('mem:b');
    const source = new DeletingSource('card', [photo(1), photo(2), photo(3)]);
    await runPipeline(prepared('p', source, [{ sink: a }, { sink: b }]), { ledger });
    const ac = new AbortController();
    // Ctrl-C lands after the first deletion, while the next asset's copies are re-checked
    source.onDelete = () => {
      const verify = b.verify.bind(b);
      b.verify = async (item) => {
        ac.abort();
        return verify(item);
      };
    };
    const r = await prune({ ledger, host: fakeHost(source, { a, b }), config: config([{ use: 'a' }, { use: 'b' }]), pipeline: 'p', signal: ac.signal });
    expect(source.deleted).toEqual(['100APPLE/IMG_1']);
    expect(r).toMatchObject({ mode: 'deleted', deleted: 1, failed: [] });
    // an interrupted re-check is not a finding about the copies
    expect(r.kept).toEqual([]);
  });

  it('a source file that cannot be re-read keeps its asset; the others are still pruned', async () => {
    const ledger = Ledger.open(':memory:');
    const a = new MemorySink('mem:a');
    const b = new MemorySink('mem:b');
    const gone = photo(1);
    const source = new DeletingSource('card', [gone, photo(2)]);
    await runPipeline(prepared('p', source, [{ sink: a }, { sink: b }]), { ledger });
    // the card was pulled, or another program removed the file, after the scan
    gone.resources[0] = {
      ...gone.resources[0]!,
      open: () =>
        (async function* () {
          yield* [];
          throw Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
        })(),
    };
    const r = await prune({ ledger, host: fakeHost(source, { a, b }), config: config([{ use: 'a' }, { use: 'b' }]), pipeline: 'p', signal: new AbortController().signal });
    expect(source.deleted).toEqual(['100APPLE/IMG_2']);
    expect(r.kept).toMatchObject([{ assetId: '100APPLE/IMG_1', reason: expect.stringMatching(/could not re-read it at the source/) }]);
  });

  it('one folder reached under two sink keys (a symlink, or a root inside the other) is one copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keepsake-prune-'));
    try {
      await mkdir(join(dir, 'nas', 'photos'), { recursive: true });
      await symlink(join(dir, 'nas'), join(dir, 'nas-link'));
      for (const second of [join(dir, 'nas-link'), join(dir, 'nas', 'photos')]) {
        const ledger = Ledger.open(':memory:');
        const a = new MemorySink(`folder:${join(dir, 'nas')}`);
        const b = new MemorySink(`folder:${second}`);
        const source = new DeletingSource('card', [photo(1)]);
        await runPipeline(prepared('p', source, [{ sink: a }, { sink: b }]), { ledger });
        const r = await prune({
          ledger,
          host: fakeHost(source, { a, b }),
          config: config([
            { use: 'folder', with: { name: 'a' } },
            { use: 'folder', with: { name: 'b' } },
          ]),
          pipeline: 'p',
          signal: new AbortController().signal,
        });
        expect(source.deleted).toEqual([]);
        expect(r.kept).toEqual([{ assetId: '100APPLE/IMG_1', reason: 'IMG_1.JPG has 1 verified copy, needs 2' }]);
      }
      // two different folders are two copies
      const ledger = Ledger.open(':memory:');
      await mkdir(join(dir, 'usb'));
      const a = new MemorySink(`folder:${join(dir, 'nas')}`);
      const b = new MemorySink(`folder:${join(dir, 'usb')}`);
      const source = new DeletingSource('card', [photo(1)]);
      await runPipeline(prepared('p', source, [{ sink: a }, { sink: b }]), { ledger });
      const cfg = config([
        { use: 'folder', with: { name: 'a' } },
        { use: 'folder', with: { name: 'b' } },
      ]);
      expect((await prune({ ledger, host: fakeHost(source, { a, b }), config: cfg, pipeline: 'p', signal: new AbortController().signal })).deleted).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
