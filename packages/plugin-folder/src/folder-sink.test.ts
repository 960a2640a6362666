import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sink } from '@keepsake/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { folderSink } from './index.js';
import { asset, bytesResource, factoryContext, putContext, text } from './test-support.js';
import { nameWithCounter } from './unique-name.js';

let base: string;
let root: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'folder-sink-'));
  root = join(base, 'photos');
  await mkdir(root);
});
afterEach(() => rm(base, { recursive: true, force: true }));

const sink = (options: Record<string, unknown> = {}) => folderSink.create({ path: 'photos', ...options } as never, factoryContext(base)) as Promise<Sink>;

/** Every file under `dir`, relative, sorted. */
async function tree(dir = base): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  return out.sort();
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('folder sink: create', () => {
  it('key names the absolute folder; relative paths start at the config folder', async () => {
    const s = await sink();
    expect(s.key).toBe(`folder:${root}`);
    expect(s.capabilities).toMatchObject({ hashes: ['sha256'], atomicWrite: true, maxConcurrency: 8, preservesCaptureDate: true, livePhotoPairs: true, offsite: false, canVerify: true });
    expect((await sink({ offsite: true })).capabilities.offsite).toBe(true);
  });

  it('~ in the path is the home folder, as in a shell (not a folder named ~ beside the config)', async () => {
    const home = process.env.HOME;
    process.env.HOME = base; // os.homedir() reads HOME on POSIX
    try {
      expect((await sink({ path: '~/photos' })).key).toBe(`folder:${root}`);
    } finally {
      process.env.HOME = home;
    }
  });

  it('rejects an unknown template token and a missing folder before anything runs', async () => {
    await expect(sink({ template: '{yyyy}/{month}' })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
    await expect(sink({ path: 'nope' })).rejects.toMatchObject({ code: 'SINK_NOT_FOUND', hint: expect.stringContaining('mkdir') });
  });
});

describe('folder sink: put', () => {
  it('writes a Live Photo into the dated folder, hashed, verified, mtime preserved', async () => {
    const s = await sink();
    const still = text('still bytes');
    const motion = new Uint8Array(300_000).fill(7);
    const progress: number[] = [];
    const receipt = await s.put(asset('a/IMG_0001', [bytesResource('IMG_0001.HEIC', still), bytesResource('IMG_0001.MOV', motion, { role: 'motion' })], { kind: 'live' }), putContext(undefined, progress));
    expect(receipt.items).toEqual([
      { resourceKey: 'IMG_0001.HEIC', role: 'original', name: 'IMG_0001.HEIC', location: '2021/04/IMG_0001.HEIC', size: still.byteLength, hashes: { sha256: sha(still) }, verified: true },
      { resourceKey: 'IMG_0001.MOV', role: 'motion', name: 'IMG_0001.MOV', location: '2021/04/IMG_0001.MOV', size: motion.byteLength, hashes: { sha256: sha(motion) }, verified: true },
    ]);
    expect(await tree()).toEqual(['photos/2021/04/IMG_0001.HEIC', 'photos/2021/04/IMG_0001.MOV']);
    expect((await stat(join(root, '2021/04/IMG_0001.MOV'))).mtimeMs).toBe(Date.parse('2021-04-10T10:44:00Z'));
    expect(progress.reduce((a, b) => a + b, 0)).toBe(still.byteLength + motion.byteLength);
  });

  it('putting the same asset twice stores one copy (deduped, nothing rewritten)', async () => {
    const s = await sink();
    const a = () => asset('x', [bytesResource('IMG_0002.JPG', text('same'))]);
    await s.put(a(), putContext());
    const before = await stat(join(root, '2021/04/IMG_0002.JPG'));
    const second = await s.put(a(), putContext());
    expect(second.items[0]).toMatchObject({ deduped: true, verified: true, location: '2021/04/IMG_0002.JPG', hashes: { sha256: sha(text('same')) } });
    expect(await tree()).toEqual(['photos/2021/04/IMG_0002.JPG']);
    expect((await stat(join(root, '2021/04/IMG_0002.JPG'))).ino).toBe(before.ino);
    // A second sink instance (a later run) dedupes too, using the hash the pipeline supplies.
    const again = await (await sink()).put(asset('x', [bytesResource('IMG_0002.JPG', text('same'), { sha256: sha(text('same')) })]), putContext());
    expect(again.items[0]?.deduped).toBe(true);
  });

  it('different content under the same name gets " (2)", shared by every part of the Live Photo', async () => {
    const s = await sink();
    await s.put(asset('1', [bytesResource('IMG_0003.HEIC', text('first still'))]), putContext());
    const r = await s.put(asset('2', [bytesResource('IMG_0003.HEIC', text('other still')), bytesResource('IMG_0003.MOV', text('video'), { role: 'motion' }), bytesResource('IMG_0003.AAE', text('<plist/>'), { role: 'adjustments' })]), putContext());
    expect(r.items.map((i) => i.location)).toEqual(['2021/04/IMG_0003 (2).HEIC', '2021/04/IMG_0003 (2).MOV', '2021/04/IMG_0003 (2).AAE']);
    expect(await readFile(join(root, '2021/04/IMG_0003.HEIC'), 'utf8')).toBe('first still');
  });

  it('collisions ignore letter case and Unicode normalisation', async () => {
    const s = await sink({ template: '' });
    await writeFile(join(root, 'IMG_0004.heic'), 'existing');
    const nfd = 'Cafe\u0301.jpg';
    await writeFile(join(root, nfd), 'existing nfd');
    const r1 = await s.put(asset('a', [bytesResource('IMG_0004.HEIC', text('new'))]), putContext());
    const r2 = await s.put(asset('b', [bytesResource('Caf\u00e9.jpg', text('new nfc'))]), putContext());
    expect(r1.items[0]?.location).toBe('IMG_0004 (2).HEIC');
    expect(r2.items[0]?.location).toBe('Caf\u00e9 (2).jpg');
    // Same bytes under a differently-cased name are recognised as already there.
    const r3 = await s.put(asset('c', [bytesResource('img_0004.HEIC', text('existing'))]), putContext());
    expect(r3.items[0]).toMatchObject({ deduped: true, location: 'IMG_0004.heic' });
  });

  it('hostile names stay inside the root and are made portable', async () => {
    const s = await sink({ template: '{album}' });
    const long = `${'x'.repeat(300)}.jpg`;
    const r = await s.put(
      asset('h', [bytesResource('../x', text('1')), bytesResource('a\0b.jpg', text('2')), bytesResource(long, text('3')), bytesResource('CON.jpg', text('4')), bytesResource('..', text('5'))], {
        album: '../../etc',
      }),
      putContext(),
    );
    for (const item of r.items) expect(item.location.split('/')).not.toContain('..');
    const files = await tree();
    expect(files.every((f) => f.startsWith('photos/'))).toBe(true);
    expect(files).toHaveLength(5);
    expect(r.items.map((i) => i.location.split('/').pop())).toEqual(['.._x', 'a_b.jpg', expect.stringMatching(/^x+\.jpg$/), 'CON_.jpg', '_']);
    expect(Buffer.byteLength(r.items[2]!.location.split('/').pop()!)).toBeLessThanOrEqual(255);
  });

  it('never writes through a symlink that leaves the root', async () => {
    await mkdir(join(base, 'outside'));
    await symlink(join(base, 'outside'), join(root, '2021'));
    const s = await sink();
    await expect(s.put(asset('s', [bytesResource('IMG_0005.JPG', text('x'))]), putContext())).rejects.toMatchObject({ code: 'NAME_UNSAFE' });
    expect(await readdir(join(base, 'outside'))).toEqual([]);
  });

  it('abort mid-put leaves nothing visible, not even the parts already written', async () => {
    const s = await sink();
    const ac = new AbortController();
    const big = new Uint8Array(1_000_000).fill(1);
    const a = asset('ab', [
      bytesResource('IMG_0006.HEIC', text('still')),
      bytesResource('IMG_0006.MOV', big, {
        role: 'motion',
        beforeChunk: async (i) => {
          if (i === 3) ac.abort(new Error('user pressed ctrl-c'));
        },
      }),
    ]);
    await expect(s.put(a, putContext(ac.signal))).rejects.toBeTruthy();
    expect(await tree()).toEqual([]);
  });

  it('two concurrent puts of different content never pick the same name', async () => {
    const s = await sink();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => s.put(asset(`c${i}`, [bytesResource('IMG_0007.JPG', text(`content ${i}`)), bytesResource('IMG_0007.MOV', text(`video ${i}`), { role: 'motion' })]), putContext())),
    );
    const stills = results.map((r) => r.items[0]!.location).sort();
    expect(new Set(stills).size).toBe(6);
    for (const r of results) expect(r.items[1]!.location.replace('.MOV', '')).toBe(r.items[0]!.location.replace('.JPG', ''));
    expect(await tree()).toHaveLength(12);
    for (const [i, r] of results.entries()) expect(await readFile(join(root, r.items[0]!.location), 'utf8')).toBe(`content ${i}`);
  });

  it('another writer taking the name between planning and rename: retried with the next counter', async () => {
    const s = await sink({ template: '' });
    // Index the folder first, then let "another process" create the name behind the sink's back.
    await s.put(asset('warm', [bytesResource('warm.jpg', text('w'))]), putContext());
    await writeFile(join(root, 'IMG_0008.JPG'), 'someone else');
    const r = await s.put(asset('t', [bytesResource('IMG_0008.JPG', text('mine'))]), putContext());
    expect(r.items[0]?.location).toBe('IMG_0008 (2).JPG');
    expect(await readFile(join(root, 'IMG_0008.JPG'), 'utf8')).toBe('someone else');
  });

  it('a folder holding the name counts as a collision', async () => {
    const s = await sink({ template: '' });
    await mkdir(join(root, 'IMG_0010.JPG'));
    const r = await s.put(asset('d', [bytesResource('IMG_0010.JPG', new Uint8Array(4096))]), putContext());
    expect(r.items[0]?.location).toBe('IMG_0010 (2).JPG');
  });

  it('removes partial files a killed run left a day ago, keeps fresh ones (a live writer)', async () => {
    const dir = join(root, '2021/04');
    await mkdir(dir, { recursive: true });
    const stale = join(dir, '.keepsake-partial-0123456789ab-IMG_0001.HEIC');
    const fresh = join(dir, '.keepsake-partial-ba9876543210-IMG_0002.HEIC');
    await writeFile(stale, 'half');
    await writeFile(fresh, 'being written');
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(stale, old, old);
    await (await sink()).put(asset('t', [bytesResource('IMG_0012.JPG', text('x'))]), putContext());
    expect((await readdir(dir)).sort()).toEqual(['.keepsake-partial-ba9876543210-IMG_0002.HEIC', 'IMG_0012.JPG']);
  });

  it('zero-byte resources are stored as zero-byte files', async () => {
    const s = await sink();
    const r = await s.put(asset('z', [bytesResource('empty.jpg', new Uint8Array(0))]), putContext());
    expect(r.items[0]).toMatchObject({ size: 0, verified: true, hashes: { sha256: sha(new Uint8Array(0)) } });
  });

  it('verify: "none" delivers unverified', async () => {
    const r = await (await sink({ verify: 'none' })).put(asset('n', [bytesResource('n.jpg', text('n'))]), putContext());
    expect(r.items[0]?.verified).toBe(false);
  });

  it('assets without a capture date go to unknown/unknown', async () => {
    const r = await (await sink()).put(asset('u', [bytesResource('u.jpg', text('u'))], { capturedAt: undefined }), putContext());
    expect(r.items[0]?.location).toBe('unknown/unknown/u.jpg');
  });
});

describe('folder sink: verify', () => {
  it('ok, corrupt, missing', async () => {
    const s = await sink();
    const [item] = (await s.put(asset('v', [bytesResource('IMG_0009.JPG', text('verify me'))]), putContext())).items;
    const ctx = { signal: new AbortController().signal, logger: putContext().logger };
    expect(await s.verify!(item!, ctx)).toMatchObject({ status: 'ok' });
    await writeFile(join(root, item!.location), 'verify mE');
    expect(await s.verify!(item!, ctx)).toMatchObject({ status: 'corrupt', actual: { sha256: sha(text('verify mE')) } });
    await rm(join(root, item!.location));
    expect(await s.verify!(item!, ctx)).toMatchObject({ status: 'missing' });
    expect(await s.verify!({ ...item!, location: '../../etc/passwd' }, ctx)).toMatchObject({ status: 'unverifiable' });
  });

  it('discard moves a corrupt copy aside (never deletes it) so a repair can use the name again', async () => {
    const s = await sink();
    const [item] = (await s.put(asset('d', [bytesResource('IMG_0010.JPG', text('good bytes'))]), putContext())).items;
    const ctx = { signal: new AbortController().signal, logger: putContext().logger };
    await writeFile(join(root, item!.location), 'bad bytes!');
    await s.discard!(item!, ctx);
    const names = await tree(root);
    expect(names.some((n) => /IMG_0010\.JPG\.corrupt-\d{8}T\d{6}Z$/.test(n))).toBe(true);
    expect(names).not.toContain(item!.location);
    const [again] = (await (await sink()).put(asset('d', [bytesResource('IMG_0010.JPG', text('good bytes'))]), putContext())).items;
    expect(again!.location).toBe(item!.location);
    await expect(s.discard!({ ...item!, location: '../../x' }, ctx)).rejects.toMatchObject({ code: 'NAME_UNSAFE' });
  });
});

describe('nameWithCounter', () => {
  it('keeps suffix and extension within the byte limit', () => {
    expect(nameWithCounter('IMG_0001.HEIC', 1)).toBe('IMG_0001.HEIC');
    expect(nameWithCounter('IMG_0001.HEIC', 12)).toBe('IMG_0001 (12).HEIC');
    const n = nameWithCounter(`${'é'.repeat(200)}.jpg`, 3);
    expect(n.endsWith(' (3).jpg')).toBe(true);
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
  });
});

describe('read-back checksum', () => {
  it('is standard CRC-32 and registered with core', async () => {
    const { createHasher } = await import('@keepsake/core');
    const { ensureReadBackHash } = await import('./crc32.js');
    ensureReadBackHash();
    const h = createHasher('crc32');
    h.update(text('1234'));
    h.update(text('56789'));
    expect(h.digest()).toBe('cbf43926');
  });
});

describe('folder sink: concurrent identical puts', () => {
  it('two puts of the same bytes under the same name at once store one copy', async () => {
    const s = await sink();
    const bytes = new Uint8Array(500_000).fill(9);
    const [a, b] = await Promise.all([
      s.put(asset('p1', [bytesResource('IMG_0011.HEIC', bytes)]), putContext()),
      s.put(asset('p2', [bytesResource('IMG_0011.HEIC', bytes)]), putContext()),
    ]);
    expect([a.items[0]?.deduped ?? false, b.items[0]?.deduped ?? false].sort()).toEqual([false, true]);
    expect(await tree()).toEqual(['photos/2021/04/IMG_0011.HEIC']);
  });
});
