import { existsSync } from 'node:fs';
import { sleep } from '@keepsake/core';
import type { Monitor, MonitorEvent } from './watcher.js';

/** Mount roots where removable media appear (SD cards, USB drives). */
export function isRemovablePath(path: string, platform: NodeJS.Platform = process.platform): boolean {
  if (platform === 'win32') return /^[d-z]:[\\/]/i.test(path);
  if (platform === 'darwin') return path.startsWith('/Volumes/');
  return /^\/(media|run\/media|mnt)\//.test(path);
}

/**
 * Polls folders (a card's DCIM) and reports them attached when they appear and detached when they
 * go away. Polling works everywhere (no udev/DiskArbitration bindings) and costs one stat per folder.
 */
export class FolderMonitor implements Monitor {
  constructor(
    private readonly folders: { id: string; label: string; path: string }[],
    private readonly intervalMs = 2000,
    private readonly exists: (p: string) => boolean = existsSync,
  ) {}

  async *events(signal: AbortSignal): AsyncIterable<MonitorEvent> {
    const present = new Set<string>();
    while (!signal.aborted) {
      for (const f of this.folders) {
        const now = this.exists(f.path);
        if (now && !present.has(f.id)) {
          present.add(f.id);
          yield { type: 'attached', target: { id: f.id, label: f.label } };
        } else if (!now && present.has(f.id)) {
          present.delete(f.id);
          yield { type: 'detached', id: f.id };
        }
      }
      await sleep(this.intervalMs, signal).catch(() => {});
    }
  }
}
