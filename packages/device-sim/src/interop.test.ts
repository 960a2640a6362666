/**
 * The stock libimobiledevice tools (Debian libimobiledevice-utils) against the simulator, through
 * USBMUXD_SOCKET_ADDRESS — proof that the simulator speaks the real protocols.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimDevice } from './sim-device.js';
import { Simulator } from './simulator.js';

const run = promisify(execFile);
const TOOLS = ['idevice_id', 'ideviceinfo', 'idevicepair'];
const onPath = (tool: string) => (process.env.PATH ?? '').split(delimiter).some((d) => existsSync(join(d, tool)));
const missing = TOOLS.filter((t) => !onPath(t));
if (missing.length > 0) console.warn(`interop tests skipped: ${missing.join(', ')} not installed (apt-get install libimobiledevice-utils)`);

describe.skipIf(missing.length > 0)('libimobiledevice tools against the simulator', () => {
  let sim: Simulator;
  let phone: SimDevice;
  const tool = (name: string, args: string[]) => run(name, args, { env: sim.env(), timeout: 20_000 });

  beforeAll(async () => {
    sim = await Simulator.start({ devices: [{ name: 'Interop Phone', cameraRoll: { assets: 3 } }] });
    phone = sim.devices[0] as SimDevice;
  });
  afterAll(() => sim.stop());

  it('idevice_id -l lists the UDID', async () => {
    const { stdout } = await tool('idevice_id', ['-l']);
    expect(stdout.trim().split('\n')).toEqual([phone.udid]);
  });

  it('ideviceinfo -s (no session) reads the device name', async () => {
    const { stdout } = await tool('ideviceinfo', ['-s', '-k', 'DeviceName']);
    expect(stdout.trim()).toBe('Interop Phone');
  });

  it('idevicepair pair reports the trust dialog, then pairs once accepted', async () => {
    phone.setTrust({ pending: 1 });
    await expect(tool('idevicepair', ['pair'])).rejects.toMatchObject({ stdout: expect.stringMatching(/trust dialog/i) });
    const { stdout } = await tool('idevicepair', ['pair']);
    expect(stdout).toMatch(/SUCCESS: Paired with device/);
    // usbmuxd-side record came in as a binary plist and is stored with all keys.
    expect(Object.keys(sim.pairRecord(phone.udid) ?? {})).toEqual(
      expect.arrayContaining(['DeviceCertificate', 'HostCertificate', 'HostID', 'RootCertificate', 'RootPrivateKey', 'SystemBUID', 'EscrowBag']),
    );
  });

  it('idevicepair validate runs a full TLS session', async () => {
    const { stdout } = await tool('idevicepair', ['validate']);
    expect(stdout).toMatch(/SUCCESS: Validated pairing/);
  });

  it('ideviceinfo (full handshake + TLS) dumps the values', async () => {
    const { stdout } = await tool('ideviceinfo', []);
    expect(stdout).toContain(`UniqueDeviceID: ${phone.udid}`);
    expect(stdout).toContain('ProductVersion: 17.5.1');
    // libimobiledevice (OpenSSL) presents the pair record's RootCertificate; the simulated lockdownd accepts it.
    expect(phone.tlsRejections).toBe(0);
  });

  it('the tools also reach it over TCP (host:port, as on Windows)', async () => {
    const tcp = await Simulator.start({ tcpPort: 0 });
    try {
      tcp.attach(phone);
      const env = tcp.env();
      expect(env.USBMUXD_SOCKET_ADDRESS).toMatch(/^127\.0\.0\.1:\d+$/);
      const { stdout } = await run('idevice_id', ['-l'], { env, timeout: 20_000 });
      expect(stdout.trim()).toBe(phone.udid);
      const info = await run('ideviceinfo', ['-s', '-k', 'ProductType'], { env, timeout: 20_000 });
      expect(info.stdout.trim()).toBe('iPhone14,2');
    } finally {
      await tcp.stop();
    }
  });

  it('idevicepair fails clearly when the phone denies trust', async () => {
    await tool('idevicepair', ['unpair']);
    phone.setTrust('deny');
    await expect(tool('idevicepair', ['pair'])).rejects.toMatchObject({ stdout: expect.stringMatching(/denied/i) });
    phone.setTrust('accept');
  });
});
