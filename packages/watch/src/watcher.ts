import { isKeepsakeError, sleep } from '@keepsake/core';

/** Something that can appear and disappear: an iPhone (by UDID) or a removable folder. */
export interface WatchTarget {
  /** Stable id (`iphone:<udid>`, `folder:<path>`). */
  id: string;
  /** Human name for log lines ("iPhone 00008030-…", "SD card /media/me/CARD/DCIM"). */
  label: string;
}

export type MonitorEvent = { type: 'attached'; target: WatchTarget } | { type: 'detached'; id: string };

/** A stream of attach/detach events; may throw when its daemon goes away (it is reopened). */
export interface Monitor {
  events(signal: AbortSignal): AsyncIterable<MonitorEvent>;
}

export interface TargetRunResult {
  copied: number;
  failed: number;
  atRisk?: number;
  /** Error code that stopped the run, if any (DEVICE_LOCKED → wait for unlock and retry). */
  stoppedBy?: string;
  /** Nothing in the config matches this target. */
  unmatched?: boolean;
}

export type WatchLogEvent =
  | { type: 'attached' | 'detached'; target: string }
  | { type: 'run-start'; target: string; attempt: number }
  | { type: 'run-end'; target: string; result: TargetRunResult }
  | { type: 'run-stopped'; target: string; reason: 'detached' | 'shutdown' }
  | { type: 'waiting'; target: string; message: string; retryInMs: number }
  | { type: 'no-pipeline'; target: string }
  | { type: 'run-error'; target: string; message: string }
  | { type: 'monitor-lost'; message: string; retryInMs: number };

export interface WatcherOptions {
  monitors: Monitor[];
  /** Runs every matching pipeline for the target; aborts when the target is detached. */
  runTarget(target: WatchTarget, signal: AbortSignal): Promise<TargetRunResult>;
  log(event: WatchLogEvent): void;
  /** A target must stay attached this long before a run starts (flapping cables). Default 1500 ms. */
  debounceMs?: number;
  /** Waits between retries while the phone is locked: doubles from the first to the last. */
  lockedBackoffMs?: [number, number];
  /** Wait before reopening a monitor that failed (usbmuxd restarting). */
  reconnectMs?: [number, number];
}

interface TargetState {
  target: WatchTarget;
  controller: AbortController;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

const WAIT_CODES = new Set(['DEVICE_LOCKED', 'DEVICE_TRUST_PENDING']);

/**
 * Runs pipelines when targets appear: one run per target at a time, debounced, cancelled cleanly
 * when the target goes away (the ledger keeps progress; the next attach resumes), retried with
 * backoff while an iPhone is locked. Monitors that fail are reopened with backoff.
 */
export class Watcher {
  private readonly states = new Map<string, TargetState>();
  /** Runs stopped by a detach that have not finished yet (rolling back items in flight), by target. */
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly o: Required<Pick<WatcherOptions, 'debounceMs' | 'lockedBackoffMs' | 'reconnectMs'>> & WatcherOptions;

  constructor(options: WatcherOptions) {
    this.o = { debounceMs: 1500, lockedBackoffMs: [5_000, 60_000], reconnectMs: [1_000, 30_000], ...options };
  }

  /** Runs until `signal` aborts; then stops every run in flight and waits for them. */
  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(this.o.monitors.map((m) => this.follow(m, signal)));
    for (const s of this.states.values()) this.stop(s, 'shutdown');
    // runs stopped by a detach may still be finishing: the caller closes the ledger after this
    await Promise.all([...[...this.states.values()].map((s) => s.running), ...this.stopping.values()]);
  }

  /** Targets known to be attached now. */
  attached(): string[] {
    return [...this.states.keys()];
  }

  private async follow(monitor: Monitor, signal: AbortSignal): Promise<void> {
    let delay = this.o.reconnectMs[0];
    const seen = new Set<string>();
    while (!signal.aborted) {
      try {
        for await (const e of monitor.events(signal)) {
          delay = this.o.reconnectMs[0];
          if (e.type === 'attached') {
            seen.add(e.target.id);
            this.onAttach(e.target);
          } else {
            seen.delete(e.id);
            this.onDetach(e.id);
          }
        }
        if (signal.aborted) return;
        throw new Error('the event stream ended');
      } catch (err) {
        if (signal.aborted) return;
        // the daemon went away: whatever it reported is unknown now; runs will fail or finish on
        // their own, and re-announced targets after reconnecting start fresh runs
        for (const id of seen) this.onDetach(id);
        seen.clear();
        this.o.log({ type: 'monitor-lost', message: isKeepsakeError(err) ? err.describe() : (err as Error).message, retryInMs: delay });
        await sleep(delay, signal).catch(() => {});
        delay = Math.min(delay * 2, this.o.reconnectMs[1]);
      }
    }
  }

  private onAttach(target: WatchTarget): void {
    const existing = this.states.get(target.id);
    if (existing) return; // one run per target at a time
    const state: TargetState = { target, controller: new AbortController() };
    this.states.set(target.id, state);
    this.o.log({ type: 'attached', target: target.label });
    state.timer = setTimeout(() => {
      state.timer = undefined;
      // a re-plug while the previous run of this target is still finishing waits for it: two runs
      // of the same pipelines at once would deliver the same items side by side
      const previous = this.stopping.get(target.id);
      state.running = (async () => {
        if (previous) await previous;
        await this.runLoop(state);
      })().finally(() => {
        if (this.states.get(target.id) === state && !state.controller.signal.aborted) this.states.delete(target.id);
      });
    }, this.o.debounceMs);
  }

  private onDetach(id: string): void {
    const state = this.states.get(id);
    if (!state) return;
    this.states.delete(id);
    this.o.log({ type: 'detached', target: state.target.label });
    this.stop(state, 'detached');
    const running = state.running;
    if (running) {
      this.stopping.set(id, running);
      const forget = () => {
        if (this.stopping.get(id) === running) this.stopping.delete(id);
      };
      running.then(forget, forget);
    }
  }

  private stop(state: TargetState, reason: 'detached' | 'shutdown'): void {
    if (state.timer) {
      clearTimeout(state.timer);
      state.timer = undefined;
      return;
    }
    if (state.running && !state.controller.signal.aborted) {
      state.controller.abort();
      this.o.log({ type: 'run-stopped', target: state.target.label, reason });
    }
  }

  private async runLoop(state: TargetState): Promise<void> {
    const signal = state.controller.signal;
    let wait = this.o.lockedBackoffMs[0];
    for (let attempt = 1; !signal.aborted; attempt++) {
      this.o.log({ type: 'run-start', target: state.target.label, attempt });
      let result: TargetRunResult;
      try {
        result = await this.o.runTarget(state.target, signal);
      } catch (err) {
        if (signal.aborted) return;
        this.o.log({ type: 'run-error', target: state.target.label, message: isKeepsakeError(err) ? err.describe() : (err as Error).message });
        return;
      }
      if (signal.aborted) return;
      if (result.unmatched) {
        this.o.log({ type: 'no-pipeline', target: state.target.label });
        return;
      }
      if (result.stoppedBy && WAIT_CODES.has(result.stoppedBy)) {
        const message = result.stoppedBy === 'DEVICE_LOCKED' ? 'Unlock your iPhone to continue the backup' : 'Unlock your iPhone and tap Trust to start the backup';
        this.o.log({ type: 'waiting', target: state.target.label, message, retryInMs: wait });
        await sleep(wait, signal).catch(() => {});
        wait = Math.min(wait * 2, this.o.lockedBackoffMs[1]);
        continue;
      }
      this.o.log({ type: 'run-end', target: state.target.label, result });
      return;
    }
  }
}

/** One readable line per event (the default log); `--json` writes the events themselves. */
export function formatWatchEvent(e: WatchLogEvent): string {
  switch (e.type) {
    case 'attached':
      return `${e.target} connected`;
    case 'detached':
      return `${e.target} disconnected`;
    case 'run-start':
      return `${e.target}: backup started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`;
    case 'run-end':
      return `${e.target}: backup finished — ${e.result.copied} copied, ${e.result.failed} failed${e.result.atRisk !== undefined ? `, ${e.result.atRisk} at risk` : ''}`;
    case 'run-stopped':
      return `${e.target}: backup stopped (${e.reason === 'detached' ? 'disconnected; it resumes when plugged in again' : 'keepsake is shutting down'})`;
    case 'waiting':
      return `${e.target}: ${e.message} (retrying in ${Math.round(e.retryInMs / 1000)} s)`;
    case 'no-pipeline':
      return `${e.target}: no pipeline in the config reads from it; add one with "source": { "use": "iphone" } (optionally with its udid)`;
    case 'run-error':
      return `${e.target}: backup could not run — ${e.message}`;
    case 'monitor-lost':
      return `lost the connection to the device service (${e.message}); reconnecting in ${Math.round(e.retryInMs / 1000)} s`;
  }
}
