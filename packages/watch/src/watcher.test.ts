import { describe, expect, it } from 'vitest';
import { FolderMonitor, isRemovablePath } from './folder-monitor.js';
import { type Monitor, type MonitorEvent, type TargetRunResult, Watcher, type WatchLogEvent, type WatchTarget } from './watcher.js';

/** A monitor driven by the test: push events; `fail()` makes the stream throw (daemon restart). */
class FakeMonitor implements Monitor {
  private queue: (MonitorEvent | Error)[] = [];
  private wake?: () => void;
  opened = 0;
  push(e: MonitorEvent | Error) {
    this.queue.push(e);
    this.wake?.();
  }
  async *events(signal: AbortSignal): AsyncIterable<MonitorEvent> {
    this.opened++;
    while (!signal.aborted) {
      const e = this.queue.shift();
      if (!e) {
        await new Promise<void>((r) => {
          this.wake = r;
          signal.addEventListener('abort', () => r(), { once: true });
        });
        continue;
      }
      if (e instanceof Error) throw e;
      yield e;
    }
  }
}

const t = (id: string): WatchTarget => ({ id, label: id });
const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

function setup(runTarget: (target: WatchTarget, signal: AbortSignal) => Promise<TargetRunResult>) {
  const monitor = new FakeMonitor();
  const log: WatchLogEvent[] = [];
  const w = new Watcher({ monitors: [monitor], runTarget, log: (e) => log.push(e), debounceMs: 20, lockedBackoffMs: [20, 40], reconnectMs: [10, 20] });
  const ac = new AbortController();
  const done = w.run(ac.signal);
  const stop = async () => {
    ac.abort();
    await done;
  };
  return { monitor, log, w, stop };
}

describe('Watcher', () => {
  it('runs on attach, stops cleanly on detach, resumes on re-attach', async () => {
    let started = 0;
    let aborted = 0;
    const gate: { release?: () => void } = {};
    const { monitor, log, stop } = setup(async (_target, signal) => {
      started++;
      if (started === 1) {
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
        aborted++;
        return { copied: 3, failed: 0 };
      }
      await new Promise<void>((r) => (gate.release = r));
      return { copied: 7, failed: 0 };
    });
    monitor.push({ type: 'attached', target: t('iphone:A') });
    await until(() => started === 1);
    monitor.push({ type: 'detached', id: 'iphone:A' });
    await until(() => aborted === 1);
    expect(log.map((e) => e.type)).toContain('run-stopped');
    monitor.push({ type: 'attached', target: t('iphone:A') });
    await until(() => started === 2);
    gate.release!();
    await until(() => log.some((e) => e.type === 'run-end'));
    expect(log.find((e) => e.type === 'run-end')).toMatchObject({ result: { copied: 7 } });
    await stop();
  });

  it('debounces a flapping cable: no run when detached within the debounce window', async () => {
    let started = 0;
    const { monitor, stop } = setup(async () => {
      started++;
      return { copied: 0, failed: 0 };
    });
    monitor.push({ type: 'attached', target: t('iphone:A') });
    monitor.push({ type: 'detached', id: 'iphone:A' });
    await new Promise((r) => setTimeout(r, 60));
    expect(started).toBe(0);
    await stop();
  });

  it('runs two devices at once; neither waits for the other', async () => {
    const active = new Set<string>();
    let both = false;
    const { monitor, log, stop } = setup(async (target) => {
      active.add(target.id);
      await until(() => active.size === 2 || both);
      both = true;
      return { copied: 1, failed: 0 };
    });
    monitor.push({ type: 'attached', target: t('iphone:A') });
    monitor.push({ type: 'attached', target: t('iphone:B') });
    await until(() => log.filter((e) => e.type === 'run-end').length === 2);
    expect(both).toBe(true);
    await stop();
  });

  it('waits while the phone is locked, then proceeds after unlock', async () => {
    let calls = 0;
    const { monitor, log, stop } = setup(async () => {
      calls++;
      return calls < 3 ? { copied: 0, failed: 0, stoppedBy: 'DEVICE_LOCKED' } : { copied: 5, failed: 0 };
    });
    monitor.push({ type: 'attached', target: t('iphone:A') });
    await until(() => log.some((e) => e.type === 'run-end'));
    expect(log.filter((e) => e.type === 'waiting')).toHaveLength(2);
    expect(log.find((e) => e.type === 'waiting')).toMatchObject({ message: 'Unlock your iPhone to continue the backup' });
    await stop();
  });

  it('logs a clear line for a device no pipeline matches, and survives the daemon restarting', async () => {
    const { monitor, log, stop } = setup(async () => ({ copied: 0, failed: 0, unmatched: true }));
    monitor.push({ type: 'attached', target: t('iphone:X') });
    await until(() => log.some((e) => e.type === 'no-pipeline'));
    monitor.push(new Error('usbmuxd went away'));
    await until(() => monitor.opened === 2);
    expect(log.some((e) => e.type === 'monitor-lost')).toBe(true);
    monitor.push({ type: 'attached', target: t('iphone:X') });
    await until(() => log.filter((e) => e.type === 'no-pipeline').length === 2);
    await stop();
  });
});

describe('Watcher: one run per target, even while a stopped run winds down', () => {
  /** A run that takes `windDownMs` to finish after its signal aborts (in-flight items rolled back). */
  const slowStopper = (windDownMs: number) => {
    const s = { active: 0, maxActive: 0, started: 0, finished: 0 };
    const run = async (_t: WatchTarget, signal: AbortSignal): Promise<TargetRunResult> => {
      s.started++;
      s.active++;
      s.maxActive = Math.max(s.maxActive, s.active);
      try {
        await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
        await new Promise((r) => setTimeout(r, windDownMs));
        return { copied: 0, failed: 0 };
      } finally {
        s.active--;
        s.finished++;
      }
    };
    return { s, run };
  };

  it('a re-plug while the stopped run is still finishing waits for it before starting', async () => {
    const { s, run } = slowStopper(150);
    const { monitor, stop } = setup(run);
    monitor.push({ type: 'attached', target: t('iphone:A') });
    await until(() => s.started === 1);
    monitor.push({ type: 'detached', id: 'iphone:A' });
    monitor.push({ type: 'attached', target: t('iphone:A') });
    await until(() => s.started === 2);
    expect(s.maxActive).toBe(1);
    await stop();
  });

  it('shutting down waits for runs already stopped by a detach (the ledger is closed after)', async () => {
    const { s, run } = slowStopper(100);
    const { monitor, stop } = setup(run);
    monitor.push({ type: 'attached', target: t('iphone:A') });
    await until(() => s.started === 1);
    monitor.push({ type: 'detached', id: 'iphone:A' });
    await until(() => s.active === 1 && s.finished === 0);
    await stop();
    expect(s.finished).toBe(1);
  });
});

describe('FolderMonitor', () => {
  it('reports a card folder appearing and disappearing', async () => {
    let present = false;
    const m = new FolderMonitor([{ id: 'folder:card', label: 'card', path: '/media/me/CARD/DCIM' }], 5, () => present);
    const ac = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const e of m.events(ac.signal)) seen.push(e.type);
    })();
    await new Promise((r) => setTimeout(r, 20));
    present = true;
    await until(() => seen.length === 1);
    present = false;
    await until(() => seen.length === 2);
    ac.abort();
    await loop;
    expect(seen).toEqual(['attached', 'detached']);
  });
  it('knows removable mount roots per platform', () => {
    expect(isRemovablePath('/media/me/CARD/DCIM', 'linux')).toBe(true);
    expect(isRemovablePath('/home/me/Pictures', 'linux')).toBe(false);
    expect(isRemovablePath('/Volumes/NO NAME/DCIM', 'darwin')).toBe(true);
    expect(isRemovablePath('E:\\DCIM', 'win32')).toBe(true);
    expect(isRemovablePath('C:\\Users\\me', 'win32')).toBe(false);
  });
});
