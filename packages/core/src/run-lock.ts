import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { abortError, KeepsakeError } from './errors.js';
import type { Ledger } from './ledger.js';
import { sleep } from './retry.js';

/** Who holds a ledger's run lock. */
export interface RunLockHolder {
  pid: number;
  host: string;
  /** What it is doing, for the message a second process shows ("keepsake run camera"). */
  command: string;
  startedAt: string;
}

/** The holder refreshes its heartbeat this often… */
const HEARTBEAT_MS = 20_000;
/**
 * …and a holder on another machine (its pid cannot be checked from here) whose heartbeat is older
 * than this is gone. Generous, because the two machines' clocks may disagree by minutes.
 */
const STALE_MS = 10 * 60_000;

interface LockRow {
  pid: number;
  host: string;
  command: string;
  started_at: string;
  heartbeat_ms: number;
  token: string;
}

/**
 * One process at a time imports into a ledger: `run`, `watch`, `prune` and `verify --repair`
 * take this lock, so a manual run while the watch service is copying never uploads an item twice
 * or races a prune. It lives in the ledger itself (SQLite serialises the check-and-take), with
 * the holder's pid and a heartbeat. On the same machine only the pid counts (a laptop that slept
 * for an hour still holds its lock; a killed process does not); a holder on another machine counts
 * while its heartbeat is fresh. Should a lock be taken over anyway, the holder's next heartbeat
 * finds that out and calls `onLost`, so it can stop instead of importing alongside the other.
 */
export class RunLock {
  private readonly token = randomBytes(12).toString('hex');
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  private constructor(
    private readonly ledger: Ledger,
    readonly holder: RunLockHolder,
    private readonly onLost: ((by: RunLockHolder | undefined) => void) | undefined,
  ) {}

  /**
   * Takes the lock or throws LEDGER_BUSY naming the process that has it. `onLost` is called (once)
   * if another process takes the lock over while this one still runs.
   */
  static acquire(ledger: Ledger, command: string, o: { onLost?(by: RunLockHolder | undefined): void } = {}): RunLock {
    const lock = new RunLock(ledger, { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() }, o.onLost);
    const busy = lock.tryTake();
    if (busy) throw ledgerBusy(ledger.path, busy);
    return lock;
  }

  /**
   * Waits until the lock is free, then takes it (the watch service queues behind a manual run).
   * `onWait` is called once with the holder when it has to wait.
   */
  static async waitFor(
    ledger: Ledger,
    command: string,
    o: { signal?: AbortSignal; pollMs?: number; onWait?(holder: RunLockHolder): void; onLost?(by: RunLockHolder | undefined): void } = {},
  ): Promise<RunLock> {
    const lock = new RunLock(ledger, { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() }, o.onLost);
    let told = false;
    for (;;) {
      if (o.signal?.aborted) throw abortError(o.signal.reason);
      const busy = lock.tryTake();
      if (!busy) return lock;
      if (!told) o.onWait?.(busy);
      told = true;
      await sleep(o.pollMs ?? 2_000, o.signal);
    }
  }

  /** The current holder, if the lock is held and alive. */
  static holder(ledger: Ledger): RunLockHolder | undefined {
    const row = ledger.db.prepare('SELECT pid, host, command, started_at, heartbeat_ms, token FROM run_lock WHERE id = 1').get() as LockRow | undefined;
    return row && isLive(row) ? toHolder(row) : undefined;
  }

  /** Gives the lock back (only if it is still ours). Safe to call twice. */
  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.held) return;
    this.held = false;
    if (this.ledger.db.isOpen) this.ledger.db.prepare('DELETE FROM run_lock WHERE id = 1 AND token = ?').run(this.token);
  }

  /** Takes the lock if free or abandoned; returns the live holder otherwise. */
  private tryTake(): RunLockHolder | undefined {
    const busy = this.ledger.transaction(() => {
      const row = this.ledger.db.prepare('SELECT pid, host, command, started_at, heartbeat_ms, token FROM run_lock WHERE id = 1').get() as LockRow | undefined;
      if (row && isLive(row)) return toHolder(row);
      this.ledger.db
        .prepare('INSERT OR REPLACE INTO run_lock (id, pid, host, command, started_at, heartbeat_ms, token) VALUES (1, ?, ?, ?, ?, ?, ?)')
        .run(this.holder.pid, this.holder.host, this.holder.command, this.holder.startedAt, Date.now(), this.token);
      return undefined;
    });
    if (busy) return busy;
    this.held = true;
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    return undefined;
  }

  private beat(): void {
    let changes: number | bigint;
    try {
      changes = this.ledger.db.prepare('UPDATE run_lock SET heartbeat_ms = ? WHERE id = 1 AND token = ?').run(Date.now(), this.token).changes;
    } catch {
      return; // the ledger is busy or closing; the next beat (well within STALE_MS) tries again
    }
    if (Number(changes) > 0 || !this.held) return;
    // another process decided this one was gone and took the lock: stop rather than import alongside it
    this.held = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.onLost?.(RunLock.holder(this.ledger));
  }
}

function isLive(row: LockRow): boolean {
  if (row.host === hostname()) return pidAlive(row.pid);
  return Date.now() - row.heartbeat_ms <= STALE_MS;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

function toHolder(row: LockRow): RunLockHolder {
  return { pid: row.pid, host: row.host, command: row.command, startedAt: row.started_at };
}

function ledgerBusy(path: string, h: RunLockHolder): KeepsakeError {
  return new KeepsakeError('LEDGER_BUSY', `Another keepsake is already working with the ledger at ${path}: "${h.command}" (pid ${h.pid} on ${h.host}, since ${h.startedAt})`, {
    stage: 'ledger',
    location: path,
    hint: 'Wait for it to finish (the watch service runs when a phone or card is plugged in), or stop it. Two imports into one ledger at once could upload items twice, so keepsake runs one at a time.',
  });
}
