import { copyFile, mkdir, mkdtemp, readFile, rm, truncate, utimes, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { type Asset, type ScanContext, silentLogger, type Source } from '@keepsake/core';
import { readJpegExif, withFile } from '@keepsake/media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderSource } from './index.js';
import { factoryContext } from './test-support.js';

const FIXTURES = process.env.KEEPSAKE_FIXTURES ?? fileURLToPath(new URL('../../../../shared/fixtures/real', import.meta.url));
let base: string;
let card: string;

const scanCtx = (): ScanContext => ({ signal: new AbortController().signal, logger: silentLogger, reportTotals() {} });
async function scanAll(source: Source): Promise<Asset[]> {
  const out: Asset[] = [];
  for await (const a of source.scan(scanCtx())) out.push(a);
  return out;
}
async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}
const create = (options: Record<string, unknown>) => folderSource.create({ path: 'card', ...options } as never, factoryContext(base)) as Promise<Source>;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'folder-source-'));
  card = join(base, 'card');
  const a = join(card, 'DCIM/100APPLE');
  const b = join(card, 'DCIM/101APPLE');
  await mkdir(a, { recursive: true });
  await mkdir(b, { recursive: true });
  await mkdir(join(card, '.Trashes/501'), { recursive: true });
  await copyFile(join(FIXTURES, 'live-photo/train.jpg'), join(a, 'IMG_0001.JPG'));
  await copyFile(join(FIXTURES, 'live-photo/train.mov'), join(a, 'IMG_0001.MOV'));
  await copyFile(join(FIXTURES, 'edge-cases/noexif.jpg'), join(a, 'IMG_E0001.JPG'));
  await writeFile(join(a, 'IMG_0001.AAE'), '<plist/>');
  await writeFile(join(a, 'IMG_0002.AAE'), '<plist/>');
  await copyFile(join(FIXTURES, 'heic/IMG_2927.HEIC'), join(b, 'IMG_0001.HEIC'));
  await copyFile(join(FIXTURES, 'edge-cases/truncated.heic'), join(b, 'IMG_0003.HEIC'));
  await writeFile(join(b, 'IMG_0004.JPG'), '');
  await utimes(join(b, 'IMG_0004.JPG'), new Date('2022-06-01T08:30:00Z'), new Date('2022-06-01T08:30:00Z'));
  await writeFile(join(card, '.DS_Store'), 'junk');
  await writeFile(join(a, '._IMG_0001.JPG'), 'junk');
  await writeFile(join(card, '.Trashes/501/deleted.jpg'), 'junk');
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe('folder source: scan', () => {
  it('a PNG whose metadata is partly damaged keeps the EXIF date it could read and says so', async () => {
    const dir = join(base, 'png-card');
    await mkdir(dir, { recursive: true });
    const tiff = (await withFile(join(FIXTURES, 'live-photo/train.jpg'), (ra) => readJpegExif(ra)))!;
    const chunk = (type: string, data: Uint8Array) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(data.byteLength, 0);
      head.write(type, 4, 'latin1');
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
      return Buffer.concat([head, data, crc]);
    };
    const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // an eXIf chunk, then a text chunk the file ends inside of (a partial copy)
    const cut = chunk('tEXt', Buffer.from(`Comment\0${'x'.repeat(500)}`)).subarray(0, 100);
    await writeFile(join(dir, 'IMG_0001.PNG'), Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr), chunk('eXIf', tiff), cut]));
    const [asset] = await scanAll((await folderSource.create({ path: 'png-card' } as never, factoryContext(base))) as Source);
    expect(asset?.capturedAt).toMatchObject({ local: '2021-04-10T11:44:00.814', offset: '+01:00', source: 'exif' });
    expect(asset?.diagnostics).toContainEqual(
      expect.objectContaining({ level: 'warning', source: 'folder:metadata', message: expect.stringMatching(/IMG_0001\.PNG: metadata partly damaged \(.*runs past the end of the file at byte \d+\)/) }),
    );
  });

  it('groups per folder with stable ids, roles, dates and ContentIdentifiers', async () => {
    const source = await create({});
    expect(source.key).toBe(`folder:${card}`);
    expect(source.capabilities).toEqual({ expensiveReads: false, canDelete: true });
    const assets = await scanAll(source);
    const summary = assets.map((x) => ({ id: x.id, kind: x.kind, res: x.resources.map((r) => `${r.role}:${r.key}`) }));
    expect(summary).toEqual([
      {
        id: 'DCIM/100APPLE/IMG_0001',
        kind: 'live',
        res: ['original:DCIM/100APPLE/IMG_0001.JPG', 'motion:DCIM/100APPLE/IMG_0001.MOV', 'edited:DCIM/100APPLE/IMG_E0001.JPG', 'adjustments:DCIM/100APPLE/IMG_0001.AAE'],
      },
      { id: 'DCIM/100APPLE/IMG_0002', kind: 'other', res: ['adjustments:DCIM/100APPLE/IMG_0002.AAE'] },
      { id: 'DCIM/101APPLE/IMG_0001', kind: 'photo', res: ['original:DCIM/101APPLE/IMG_0001.HEIC'] },
      { id: 'DCIM/101APPLE/IMG_0003', kind: 'photo', res: ['original:DCIM/101APPLE/IMG_0003.HEIC'] },
      { id: 'DCIM/101APPLE/IMG_0004', kind: 'photo', res: ['original:DCIM/101APPLE/IMG_0004.JPG'] },
    ]);
    const [live, stray, heic, broken, empty] = assets;
    expect(live!.capturedAt).toEqual({ local: '2021-04-10T11:44:00.814', offset: '+01:00', source: 'exif' });
    expect(live!.contentIdentifier).toBe('E905E6C6-C747-4805-942F-9904A0281F02');
    expect(live!.resources[0]).toMatchObject({ name: 'IMG_0001.JPG', mediaType: 'image/jpeg', size: 3478530 });
    expect(stray!.diagnostics?.map((d) => d.source)).toEqual(['media:stray-aae']);
    expect(heic!.capturedAt).toEqual({ local: '2020-05-04T18:39:11.644', offset: '-04:00', source: 'exif' });
    expect(heic!.contentIdentifier).toBe('1745E022-9712-43C7-B024-F308EC6413CB');
    expect(broken!.diagnostics).toEqual([expect.objectContaining({ level: 'warning', source: 'folder:metadata', message: expect.stringContaining('at byte') })]);
    expect(broken!.capturedAt?.source).toBe('mtime');
    expect(empty!.resources[0]?.size).toBe(0);
    expect(empty!.diagnostics).toEqual([expect.objectContaining({ level: 'warning', source: 'folder:empty-file' })]);
    expect(empty!.capturedAt).toEqual({ local: '2022-06-01T08:30:00', offset: '+00:00', source: 'mtime' });
  });

  it('recursive: false, include and exclude', async () => {
    expect(await scanAll(await create({ recursive: false }))).toEqual([]);
    const onlyHeic = await scanAll(await create({ include: ['*.heic'] }));
    expect(onlyHeic.map((x) => x.id)).toEqual(['DCIM/101APPLE/IMG_0001', 'DCIM/101APPLE/IMG_0003']);
    const no101 = await scanAll(await create({ exclude: ['DCIM/101APPLE/**'] }));
    expect(no101.map((x) => x.id)).toEqual(['DCIM/100APPLE/IMG_0001', 'DCIM/100APPLE/IMG_0002']);
  });

  it('a missing source folder fails at create with a hint', async () => {
    await expect(create({ path: 'nope' })).rejects.toMatchObject({ code: 'SOURCE_READ_FAILED', hint: expect.stringContaining('Connect') });
  });
});

describe('folder source: open', () => {
  it('streams the bytes, from an offset too', async () => {
    const [live] = await scanAll(await create({}));
    const original = await readFile(join(FIXTURES, 'live-photo/train.mov'));
    const motion = live!.resources[1]!;
    expect((await readAll(motion.open())).equals(original)).toBe(true);
    expect((await readAll(motion.open({ offset: 1_000_000 }))).equals(original.subarray(1_000_000))).toBe(true);
  });

  it('with reuseChunks (a consumer that copies what it keeps) streams the same bytes and still checks size', async () => {
    const [live] = await scanAll(await create({}));
    const original = await readFile(join(FIXTURES, 'live-photo/train.mov'));
    const copied = async (it: AsyncIterable<Uint8Array>) => {
      const parts: Buffer[] = [];
      for await (const c of it) parts.push(Buffer.from(c));
      return Buffer.concat(parts);
    };
    const motion = live!.resources[1]!;
    expect((await copied(motion.open({ reuseChunks: true }))).equals(original)).toBe(true);
    expect((await copied(motion.open({ offset: 1_000_000, reuseChunks: true }))).equals(original.subarray(1_000_000))).toBe(true);
    const dir = join(base, 'grows');
    await mkdir(dir);
    await writeFile(join(dir, 'e.jpg'), 'eeee');
    const [e] = await scanAll(await create({ path: 'grows' }));
    await writeFile(join(dir, 'e.jpg'), 'eeeeeeee');
    await expect(copied(e!.resources[0]!.open({ reuseChunks: true }))).rejects.toMatchObject({ code: 'SOURCE_ITEM_CHANGED' });
  });

  it('vanished, changed and unreadable files fail with typed errors', async () => {
    const dir = join(base, 'volatile');
    await mkdir(dir);
    await writeFile(join(dir, 'a.jpg'), 'aaaa');
    await writeFile(join(dir, 'b.jpg'), 'bbbb');
    await writeFile(join(dir, 'c.jpg'), 'cccc');
    await writeFile(join(dir, 'd.jpg'), 'dddd');
    const assets = await scanAll(await create({ path: 'volatile' }));
    const res = (name: string) => assets.flatMap((x) => x.resources).find((r) => r.name === name)!;
    await rm(join(dir, 'a.jpg'));
    await expect(readAll(res('a.jpg').open())).rejects.toMatchObject({ code: 'SOURCE_ITEM_VANISHED', context: { location: join(dir, 'a.jpg') }, hint: expect.any(String) });
    await writeFile(join(dir, 'b.jpg'), 'bbbbbbbb');
    await expect(readAll(res('b.jpg').open())).rejects.toMatchObject({ code: 'SOURCE_ITEM_CHANGED' });
    await truncate(join(dir, 'c.jpg'), 2);
    await expect(readAll(res('c.jpg').open())).rejects.toMatchObject({ code: 'SOURCE_ITEM_CHANGED' });
    if (process.getuid?.() !== 0) {
      await chmod(join(dir, 'd.jpg'), 0);
      await expect(readAll(res('d.jpg').open())).rejects.toMatchObject({ code: 'SOURCE_READ_FAILED' });
    }
  });
});

describe('folder source: delete', () => {
  it('removes the asset files, but refuses when a file changed since the scan', async () => {
    const dir = join(base, 'prune');
    await mkdir(dir);
    await writeFile(join(dir, 'IMG_0001.JPG'), 'still');
    await writeFile(join(dir, 'IMG_0001.MOV'), 'video');
    await writeFile(join(dir, 'IMG_0002.JPG'), 'other');
    const source = await create({ path: 'prune' });
    const [one, two] = await scanAll(source);
    const ctx = { signal: new AbortController().signal, logger: silentLogger };
    await source.delete!(one!, ctx);
    await writeFile(join(dir, 'IMG_0002.JPG'), 'changed!');
    await expect(source.delete!(two!, ctx)).rejects.toMatchObject({ code: 'SOURCE_ITEM_CHANGED' });
    expect((await scanAll(source)).map((x) => x.id)).toEqual(['IMG_0002']);
    await expect(source.delete!({ ...two!, resources: [{ ...two!.resources[0]!, key: '../card/DCIM/100APPLE/IMG_0001.JPG' }] }, ctx)).rejects.toMatchObject({ code: 'NAME_UNSAFE' });
  });
});

describe('folder source: metadata cache', () => {
  it('an unchanged file (same size and mtime) is not read again on the next scan', async () => {
    const dir = join(base, 'cached');
    await mkdir(dir);
    const file = join(dir, 'IMG_0001.JPG');
    await copyFile(join(FIXTURES, 'live-photo/train.jpg'), file);
    const t = new Date('2024-01-01T00:00:00Z');
    await utimes(file, t, t);
    const first = await scanAll(await create({ path: 'cached' }));
    expect(first[0]?.capturedAt?.source).toBe('exif');
    // Same size and mtime, different bytes: a rescan that read the file would find no EXIF.
    const size = (await readFile(file)).byteLength;
    await writeFile(file, new Uint8Array(size));
    await utimes(file, t, t);
    const second = await scanAll(await create({ path: 'cached' }));
    expect(second[0]).toMatchObject({ capturedAt: first[0]!.capturedAt, contentIdentifier: 'E905E6C6-C747-4805-942F-9904A0281F02' });
    // A new mtime means new content: read again.
    await utimes(file, new Date('2024-02-01T00:00:00Z'), new Date('2024-02-01T00:00:00Z'));
    const third = await scanAll(await create({ path: 'cached' }));
    expect(third[0]?.capturedAt).toEqual({ local: '2024-02-01T00:00:00', offset: '+00:00', source: 'mtime' });
    expect(third[0]?.contentIdentifier).toBeUndefined();
  });
});

describe('folder source: Live Photo dates', () => {
  it('a still without OffsetTimeOriginal takes the offset of its video', async () => {
    const dir = join(base, 'offset');
    await mkdir(dir);
    // IMG_2682 (iOS 12) has no OffsetTimeOriginal but a GPS time, so it already resolves −05:00; use
    // Issue_263 instead: no OffsetTime*, no GPS time → offset unknown unless the video knows it
    // (Lisbon in August is +01:00, so the borrowed offset even happens to be right).
    await copyFile(join(FIXTURES, 'heic/Issue_263_dotnet.heic'), join(dir, 'IMG_0001.HEIC'));
    await copyFile(join(FIXTURES, 'live-photo/train.mov'), join(dir, 'IMG_0001.MOV'));
    const [live] = await scanAll(await create({ path: 'offset' }));
    expect(live?.kind).toBe('live');
    expect(live?.capturedAt).toEqual({ local: '2019-08-21T11:21:36.245', offset: '+01:00', source: 'exif' });
  });
});
