/**
 * keepsake's usbmuxd client against the real daemon (Debian's usbmuxd 1.1.1). Uses a running
 * daemon read-only when there is one; otherwise, as root with the binary installed (CI), starts
 * `usbmuxd -f -n` for the test and stops it after. Skipped with a message when neither is possible.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePlist } from './plist.js';
import { UsbmuxClient } from './usbmux-client.js';

const SOCKET = '/var/run/usbmuxd';
/** A daemon that answers (a leftover socket file with nobody behind it does not count). */
const running = await new UsbmuxClient({ address: { kind: 'unix', path: SOCKET }, timeoutMs: 2000 })
  .listDevices()
  .then(() => true)
  .catch(() => false);
const canStart = !running && process.getuid?.() === 0 && spawnSync('usbmuxd', ['--version']).status === 0;
if (!running && !canStart) console.warn('real-usbmuxd tests skipped: no usbmuxd running and cannot start one (needs root and the usbmuxd package)');

describe.skipIf(!running && !canStart)('usbmuxd client against the real daemon', () => {
  let daemon: ChildProcess | undefined;
  const client = new UsbmuxClient({ address: { kind: 'unix', path: SOCKET }, timeoutMs: 5000 });

  beforeAll(async () => {
    if (!canStart) return;
    daemon = spawn('usbmuxd', ['-f', '-n'], { stdio: 'ignore' });
    // usbmuxd replaces a stale socket file; wait until it answers.
    for (let i = 0; i < 50; i++) {
      if (existsSync(SOCKET) && (await client.listDevices().then(() => true, () => false))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    if (!daemon) return;
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon?.once('exit', r));
    // usbmuxd leaves its socket file behind; it was ours, so tidy it.
    await rm(SOCKET, { force: true });
  });

  it('lists devices and reads the system BUID', async () => {
    expect(Array.isArray(await client.listDevices())).toBe(true);
    expect(await client.readBuid()).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('answers a missing pair record with "not found" and keeps a Listen socket open until aborted', async () => {
    expect(await client.readPairRecord('00000000-KEEPSAKETEST0000000')).toBeUndefined();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const events = [];
    for await (const e of client.listen(ac.signal)) events.push(e);
    expect(events.every((e) => e.type === 'attached')).toBe(true);
  });

  it.skipIf(!canStart)('saves, reads back and deletes a pair record (only on a daemon this test started)', async () => {
    const udid = '00000000-KEEPSAKETEST0000001';
    await client.savePairRecord(udid, encodePlist({ HostID: 'KEEPSAKE-TEST', SystemBUID: 'X' }));
    expect(await client.readPairRecord(udid)).toMatchObject({ HostID: 'KEEPSAKE-TEST' });
    await client.deletePairRecord(udid);
    expect(await client.readPairRecord(udid)).toBeUndefined();
  });
});
