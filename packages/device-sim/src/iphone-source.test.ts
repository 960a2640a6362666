import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type Asset, type CommandContext, silentLogger } from '@keepsake/core';
import { createIphoneSource, devicesCommand } from '@keepsake/transport-usb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimDevice } from './sim-device.js';
import { Simulator } from './simulator.js';

const scanCtx = () => ({ signal: new AbortController().signal, logger: silentLogger, reportTotals: () => undefined });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
async function readAll(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('iphone source against the simulator', () => {
  let sim: Simulator;
  let phone: SimDevice;
  let assets: Asset[];

  beforeAll(async () => {
    sim = await Simulator.start({ devices: [{ name: 'Source Phone', cameraRoll: { assets: 40, seed: 11, largeVideoBytes: 3 * 1024 * 1024, largeVideoEvery: 10 } }] });
    phone = sim.devices[0] as SimDevice;
    const source = await createIphoneSource({ env: sim.env(), logger: silentLogger });
    assets = [];
    for await (const a of source.scan(scanCtx())) assets.push(a);
    await source.close?.();
  });
  afterAll(() => sim.stop());

  it('yields one asset per capture with the DCIM grouping and the iphone:<udid> key', async () => {
    const source = await createIphoneSource({ env: sim.env(), logger: silentLogger, name: 'Source Phone' });
    expect(source.key).toBe(`iphone:${phone.udid}`);
    expect(source.capabilities).toMatchObject({ expensiveReads: true, canDelete: false, deleteNote: expect.stringContaining('Photos → Select → Delete') });
    expect('delete' in source).toBe(false);
    await source.close?.();
    expect(assets).toHaveLength(40);
    const files = [...phone.fs.files.keys()].filter((p) => p.startsWith('/DCIM/') && !p.includes('/.'));
    expect(assets.flatMap((a) => a.resources.map((r) => `/${r.key}`)).sort()).toEqual(files.sort());
    const live = assets.find((a) => a.kind === 'live');
    expect(live?.resources.map((r) => r.role)).toEqual(['original', 'motion']);
    const edited = assets.find((a) => a.resources.some((r) => r.role === 'edited'));
    expect(edited?.resources.map((r) => r.role)).toEqual(['original', 'edited', 'adjustments']);
  });

  it('reads capture dates and Live Photo identifiers from the files over AFC', () => {
    const live = assets.find((a) => a.kind === 'live');
    expect(live?.contentIdentifier).toMatch(/^[0-9A-F-]{36}$/);
    const heic = assets.find((a) => a.resources[0]?.name.endsWith('.HEIC'));
    expect(heic?.capturedAt?.source).toBe('exif');
  });

  it('streams every byte exactly and resumes from an offset', async () => {
    const source = await createIphoneSource({ env: sim.env(), logger: silentLogger });
    const fresh: Asset[] = [];
    for await (const a of source.scan(scanCtx())) fresh.push(a);
    for (const a of fresh.slice(0, 12)) {
      for (const r of a.resources) {
        const f = phone.fs.files.get(`/${r.key}`);
        expect(sha(await readAll(r.open()))).toBe(sha(f?.content.read(0, f.content.size) as Buffer));
      }
    }
    const big = fresh.flatMap((a) => a.resources).find((r) => (r.size ?? 0) >= 3 * 1024 * 1024);
    const tail = await readAll(big?.open({ offset: 1_000_001 }) as AsyncIterable<Uint8Array>);
    expect(tail).toEqual(phone.fs.files.get(`/${big?.key}`)?.content.read(1_000_001, 1 << 30));
    await source.close?.();
  });

  it('a disconnect mid-file fails that item with DEVICE_DISCONNECTED and the next read reconnects', async () => {
    const source = await createIphoneSource({ env: sim.env(), logger: silentLogger });
    const scanned: Asset[] = [];
    for await (const a of source.scan(scanCtx())) scanned.push(a);
    const big = scanned.flatMap((a) => a.resources).find((r) => (r.size ?? 0) >= 3 * 1024 * 1024);
    phone.faults.disconnectAfterBytes = 2_000_000;
    await expect(readAll(big?.open() as AsyncIterable<Uint8Array>)).rejects.toMatchObject({
      code: 'DEVICE_DISCONNECTED',
      context: { resource: big?.key },
    });
    const again = await readAll(big?.open({ offset: 1_000_000 }) as AsyncIterable<Uint8Array>);
    expect(again.length).toBe((big?.size ?? 0) - 1_000_000);
    await source.close?.();
  });

  it('with a storage folder, a rescan reads no file bytes and yields the same dates and identifiers', async () => {
    const storageDir = await mkdtemp(join(tmpdir(), 'keepsake-iphone-'));
    try {
      const scanAll = async () => {
        const source = await createIphoneSource({ env: sim.env(), logger: silentLogger, storageDir });
        const out: Asset[] = [];
        for await (const a of source.scan(scanCtx())) out.push(a);
        await source.close?.();
        return out.map((a) => ({ id: a.id, capturedAt: a.capturedAt, contentIdentifier: a.contentIdentifier, diagnostics: a.diagnostics }));
      };
      const first = await scanAll();
      const served = phone.bytesServed;
      expect(await scanAll()).toEqual(first);
      expect(phone.bytesServed).toBe(served);
      expect(first).toEqual(assets.map((a) => ({ id: a.id, capturedAt: a.capturedAt, contentIdentifier: a.contentIdentifier, diagnostics: a.diagnostics })));
    } finally {
      await rm(storageDir, { recursive: true, force: true });
    }
  });

  it('fails clearly when the phone is unplugged for good', async () => {
    const source = await createIphoneSource({ env: sim.env(), logger: silentLogger, readTimeoutSeconds: 2 });
    const r = assets[0]?.resources[0];
    sim.detach(phone);
    await expect(readAll(source.scan(scanCtx()) as AsyncIterable<never>)).rejects.toMatchObject({ code: 'DEVICE_DISCONNECTED' });
    sim.attach(phone);
    expect(r).toBeDefined();
    await source.close?.();
  });
});

describe('device selection and `keepsake devices`', () => {
  it('needs exactly one phone unless told which', async () => {
    const sim = await Simulator.start();
    try {
      await expect(createIphoneSource({ env: sim.env(), logger: silentLogger })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND', hint: expect.stringMatching(/USB cable/) });
      sim.attach({ name: 'One', cameraRoll: { assets: 1 } });
      const two = sim.attach({ name: 'Two', cameraRoll: { assets: 1 } });
      await expect(createIphoneSource({ env: sim.env(), logger: silentLogger })).rejects.toMatchObject({ code: 'DEVICE_AMBIGUOUS', hint: expect.stringContaining(two.udid) });
      const byName = await createIphoneSource({ env: sim.env(), logger: silentLogger, name: 'Two' });
      expect(byName.key).toBe(`iphone:${two.udid}`);
      await byName.close?.();
      const byUdid = await createIphoneSource({ env: sim.env(), logger: silentLogger, udid: two.udid.toLowerCase() });
      expect(byUdid.key).toBe(`iphone:${two.udid}`);
      await byUdid.close?.();
      await expect(createIphoneSource({ env: sim.env(), logger: silentLogger, name: 'Nope' })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND', hint: expect.stringContaining('"One"') });

      const out = new PassThrough();
      const err = new PassThrough();
      const ctx = { env: sim.env(), stdout: out, stderr: err } as unknown as CommandContext;
      expect(await devicesCommand.run([], ctx)).toBe(0);
      const text = out.read().toString();
      expect(text).toMatch(/NAME\s+MODEL\s+iOS\s+PAIRED\s+UDID/);
      expect(text).toMatch(/Two\s+iPhone 13 Pro \(iPhone14,2\)\s+17\.5\.1\s+yes/);
      const jsonOut = new PassThrough();
      expect(await devicesCommand.run(['--json'], { ...ctx, stdout: jsonOut } as CommandContext)).toBe(0);
      const { devices } = JSON.parse(jsonOut.read().toString());
      expect(devices).toHaveLength(2);
      expect(devices.find((d: { name: string }) => d.name === 'One')).toMatchObject({ paired: false, iosVersion: '17.5.1', productType: 'iPhone14,2' });
    } finally {
      await sim.stop();
    }
  });

  it('`keepsake devices` explains a missing usbmuxd', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const code = await devicesCommand.run([], { env: { USBMUXD_SOCKET_ADDRESS: 'UNIX:/nonexistent/x' }, stdout: out, stderr: err } as unknown as CommandContext);
    expect(code).toBe(1);
    expect(err.read().toString()).toMatch(/Cannot reach usbmuxd[\s\S]*usbmuxd/);
  });
});
