import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isKeepsakeError } from './errors.js';
import { Ledger } from './ledger.js';
import { RunLock } from './run-lock.js';

let dir: string;
let a: Ledger;
let b: Ledger;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keepsake-lock-'));
  // two connections to one file, as two processes would have
  a = Ledger.open(join(dir, 'ledger.sqlite'));
  b = Ledger.open(join(dir, 'ledger.sqlite'));
});
afterEach(() => {
  a.close();
  b.close();
  rmSync(dir, { recursive: true, force: true });
});

function plant(ledger: Ledger, row: { pid: number; host: string; heartbeatMs: number }): void {
  ledger.db
    .prepare('INSERT OR REPLACE INTO run_lock (id, pid, host, command, started_at, heartbeat_ms, token) VALUES (1, ?, ?, ?, ?, ?, ?)')
    .run(row.pid, row.host, 'keepsake run other', '2026-11-28T10:00:00.000Z', row.heartbeatMs, 'planted');
}

function busyError(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    if (isKeepsakeError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('expected LEDGER_BUSY');
}

describe('RunLock', () => {
  it('lets one process in: the second gets LEDGER_BUSY naming the first, and gets in after release', () => {
    const first = RunLock.acquire(a, 'keepsake run camera');
    const err = busyError(() => RunLock.acquire(b, 'keepsake prune'));
    expect(err.code).toBe('LEDGER_BUSY');
    expect(err.message).toContain('"keepsake run camera"');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.hint).toMatch(/Wait for it to finish/);
    expect(RunLock.holder(b)).toMatchObject({ command: 'keepsake run camera', pid: process.pid, host: hostname() });
    first.release();
    expect(RunLock.holder(b)).toBeUndefined();
    const second = RunLock.acquire(b, 'keepsake prune');
    expect(RunLock.holder(a)?.command).toBe('keepsake prune');
    second.release();
  });

  it('takes over from a holder on this machine whose process is gone (kill -9, power loss)', () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    plant(a, { pid: gone, host: hostname(), heartbeatMs: Date.now() });
    const lock = RunLock.acquire(b, 'keepsake run');
    expect(RunLock.holder(a)?.pid).toBe(process.pid);
    lock.release();
  });

  it('a holder on this machine whose process is alive keeps the lock however old its heartbeat (a laptop that slept)', () => {
    plant(a, { pid: process.pid, host: hostname(), heartbeatMs: Date.now() - 3 * 3600_000 });
    expect(busyError(() => RunLock.acquire(b, 'keepsake watch')).code).toBe('LEDGER_BUSY');
  });

  it('respects a holder on another machine (pid unknowable) while its heartbeat is fresh, for clock skew too; takes over after 10 minutes of silence', () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    plant(a, { pid: gone, host: `${hostname()}-other`, heartbeatMs: Date.now() - 5 * 60_000 });
    expect(busyError(() => RunLock.acquire(b, 'keepsake run')).code).toBe('LEDGER_BUSY');
    plant(a, { pid: gone, host: `${hostname()}-other`, heartbeatMs: Date.now() - 11 * 60_000 });
    RunLock.acquire(b, 'keepsake run').release();
  });

  it('release removes only its own lock: a process that took over an abandoned one keeps it', () => {
    const old = RunLock.acquire(a, 'keepsake run');
    plant(a, { pid: 1, host: `${hostname()}-other`, heartbeatMs: Date.now() - 11 * 60_000 }); // looks abandoned
    const next = RunLock.acquire(b, 'keepsake watch');
    old.release();
    expect(RunLock.holder(a)?.command).toBe('keepsake watch');
    next.release();
    next.release();
  });

  it('a holder whose lock was taken over learns it at its next heartbeat (onLost), once, and stops beating', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const lost: (string | undefined)[] = [];
      const lock = RunLock.acquire(a, 'keepsake run', { onLost: (by) => lost.push(by?.command) });
      vi.advanceTimersByTime(20_000);
      expect(lost).toEqual([]); // its own heartbeat went through
      plant(b, { pid: process.pid, host: hostname(), heartbeatMs: Date.now() }); // another token now
      vi.advanceTimersByTime(60_000);
      expect(lost).toEqual(['keepsake run other']);
      lock.release();
      expect(RunLock.holder(a)?.command).toBe('keepsake run other'); // not removed by the loser
    } finally {
      vi.useRealTimers();
    }
  });

  it('waitFor queues behind the holder (told once), and an abort stops the wait', async () => {
    const first = RunLock.acquire(a, 'keepsake run');
    const waits: string[] = [];
    const waiting = RunLock.waitFor(b, 'keepsake watch', { pollMs: 10, onWait: (h) => waits.push(h.command) });
    await new Promise((r) => setTimeout(r, 60));
    first.release();
    const second = await waiting;
    expect(waits).toEqual(['keepsake run']);
    expect(RunLock.holder(a)?.command).toBe('keepsake watch');

    const ac = new AbortController();
    const blocked = RunLock.waitFor(a, 'keepsake prune', { pollMs: 10, signal: ac.signal });
    ac.abort();
    await expect(blocked).rejects.toMatchObject({ code: 'ABORTED' });
    second.release();
  });
});
