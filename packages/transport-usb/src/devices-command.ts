/** `keepsake devices [--json]`: the iPhones/iPads usbmuxd sees, with name, model, iOS version and pairing state. */
import { type CommandContext, type CommandContributionImpl, isKeepsakeError } from '@keepsake/core';
import { readPairRecord } from './device-session.js';
import { listUsbDevices } from './device-select.js';
import { LockdownClient } from './lockdown-client.js';
import { UsbmuxClient, type UsbmuxDevice } from './usbmux-client.js';
import { modelName } from './models.js';

export interface DeviceSummary {
  udid: string;
  name?: string;
  productType?: string;
  model?: string;
  iosVersion?: string;
  /** This computer holds a pair record for the device (it was trusted before). */
  paired: boolean;
  connection: string;
  /** Why some values are missing (the phone refused or vanished). */
  error?: string;
}

async function describeDevice(usbmux: UsbmuxClient, device: UsbmuxDevice, timeoutMs: number): Promise<DeviceSummary> {
  const summary: DeviceSummary = { udid: device.udid, paired: false, connection: device.connectionType };
  try {
    summary.paired = (await readPairRecord(usbmux, device)) !== undefined;
    const ld = await LockdownClient.connect(usbmux, device, { timeoutMs });
    try {
      // These values are readable without pairing or a session.
      summary.name = await ld.getString('DeviceName');
      summary.productType = await ld.getString('ProductType');
      summary.iosVersion = await ld.getString('ProductVersion');
      if (summary.productType) summary.model = modelName(summary.productType);
    } finally {
      await ld.close();
    }
  } catch (err) {
    summary.error = isKeepsakeError(err) ? err.describe() : String(err);
  }
  return summary;
}

export async function listDeviceSummaries(env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<DeviceSummary[]> {
  const usbmux = new UsbmuxClient({ env, timeoutMs });
  const devices = await listUsbDevices(usbmux);
  const out: DeviceSummary[] = [];
  for (const d of devices) out.push(await describeDevice(usbmux, d, timeoutMs));
  return out;
}

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export const devicesCommand: CommandContributionImpl = {
  async run(args: string[], ctx: CommandContext): Promise<number> {
    const json = args.includes('--json');
    const unknown = args.filter((a) => a !== '--json');
    if (unknown.length > 0) {
      ctx.stderr.write(`keepsake devices: unknown argument ${unknown[0]}\nUsage: keepsake devices [--json]\n`);
      return 2;
    }
    let devices: DeviceSummary[];
    try {
      devices = await listDeviceSummaries(ctx.env);
    } catch (err) {
      if (!isKeepsakeError(err)) throw err;
      if (json) ctx.stdout.write(`${JSON.stringify({ devices: [], error: err.toJSON() }, null, 2)}\n`);
      else ctx.stderr.write(`${err.message}\n${err.hint ? `${err.hint}\n` : ''}`);
      return 1;
    }
    if (json) {
      ctx.stdout.write(`${JSON.stringify({ devices }, null, 2)}\n`);
      return 0;
    }
    if (devices.length === 0) {
      ctx.stdout.write('No iPhone connected. Connect it with a USB cable and unlock it.\n');
      return 0;
    }
    const rows = [['NAME', 'MODEL', 'iOS', 'PAIRED', 'UDID']];
    for (const d of devices) rows.push([d.name ?? '?', d.model ?? d.productType ?? '?', d.iosVersion ?? '?', d.paired ? 'yes' : 'no', d.udid]);
    ctx.stdout.write(`${table(rows)}\n`);
    for (const d of devices) if (d.error) ctx.stderr.write(`${d.udid}: ${d.error}\n`);
    if (devices.some((d) => !d.paired)) ctx.stdout.write('Not paired yet: keepsake asks the iPhone to trust this computer on the first run.\n');
    return 0;
  },
};
