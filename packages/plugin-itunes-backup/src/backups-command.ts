import { resolve } from 'node:path';
import { type CommandContext, type CommandContributionImpl, isKeepsakeError } from '@keepsake/core';
import { type BackupInfo, findBackups } from './backup-info.js';
import { defaultBackupRoots } from './backup-locations.js';

/** What `keepsake backups --json` prints per backup. */
export interface BackupListing {
  udid: string;
  deviceName: string | null;
  productType: string | null;
  iosVersion: string | null;
  date: string | null;
  encrypted: boolean;
  format: 'db' | 'mbdb';
  complete: boolean | null;
  path: string;
}

export function toListing(b: BackupInfo): BackupListing {
  return {
    udid: b.udid,
    deviceName: b.deviceName ?? null,
    productType: b.productType ?? null,
    iosVersion: b.iosVersion ?? null,
    date: b.date ?? null,
    encrypted: b.encrypted,
    format: b.format,
    complete: b.complete ?? null,
    path: b.dir,
  };
}

const USAGE = 'usage: keepsake backups [--json] [--path <folder>]';

/** `keepsake backups [--json] [--path <folder>]`: lists the iPhone backups on this computer. */
export const backupsCommand: CommandContributionImpl = {
  async run(args: string[], ctx: CommandContext): Promise<number> {
    let json = false;
    let path: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '--json') json = true;
      else if (a === '--path' && args[i + 1] !== undefined) path = args[++i];
      else if (a?.startsWith('--path=')) path = a.slice('--path='.length);
      else {
        ctx.stderr.write(`${USAGE}\n`);
        return 2;
      }
    }
    const roots = path ? [resolve(path)] : defaultBackupRoots(ctx.env);
    const skipped: string[] = [];
    const backups = await findBackups(roots, (dir, err) => skipped.push(`${dir}: ${isKeepsakeError(err) ? err.describe() : (err as Error).message}`));
    if (json) {
      ctx.stdout.write(`${JSON.stringify(backups.map(toListing), null, 2)}\n`);
    } else if (backups.length === 0) {
      ctx.stdout.write(`No iPhone backups found in ${roots.length ? roots.join(', ') : '(no standard backup folder on this OS; use --path)'}\n`);
    } else {
      const rows = backups.map((b) => [b.deviceName ?? '?', b.iosVersion ? `iOS ${b.iosVersion}` : '?', b.date ? b.date.slice(0, 16).replace('T', ' ') : '?', b.encrypted ? 'encrypted' : 'plain', b.udid, b.dir]);
      const header = ['DEVICE', 'IOS', 'DATE (UTC)', 'ENCRYPTION', 'UDID', 'PATH'];
      const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
      for (const r of [header, ...rows]) ctx.stdout.write(`${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] as number))).join('  ')}\n`);
    }
    for (const s of skipped) ctx.stderr.write(`warning: skipped ${s}\n`);
    if (skipped.some((s) => /EPERM|EACCES/.test(s))) {
      ctx.stderr.write('hint: permission denied; on macOS give your terminal Full Disk Access (System Settings → Privacy & Security) and run again\n');
    }
    return 0;
  },
};
