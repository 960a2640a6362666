import {
  abortError,
  createHasher,
  type HashName,
  type Hasher,
  isAbortError,
  isKeepsakeError,
  KeepsakeError,
  type Logger,
  type OpenResource,
  type ResumeStore,
  backoffDelay,
  silentLogger,
  sleep,
  throwIfAborted,
} from '@keepsake/core';

/** What a service answers after a fragment or a status query. */
export type SessionStatus<R> =
  /** The server has bytes [0, offset) and expects `offset` next. */
  | { kind: 'partial'; offset: number }
  /** Upload complete; `result` is the service's answer (OneDrive's driveItem). */
  | { kind: 'done'; result: R }
  /** The session is gone (expired, cancelled): start a new one. */
  | { kind: 'expired' };

/**
 * One service's resumable-upload protocol. `S` is the session state saved in the ledger
 * (JSON-serialisable, e.g. `{ url, expiresAt }`).
 */
export interface ResumableProtocol<S, R> {
  /** Opens a new session. */
  start(signal: AbortSignal): Promise<S>;
  /** Asks the server what it has received (OneDrive: GET uploadUrl → nextExpectedRanges). */
  status(session: S, signal: AbortSignal): Promise<SessionStatus<R>>;
  /**
   * Sends bytes `[offset, offset + bytes.length)` of `total`. Throws a retryable KeepsakeError when
   * the outcome is unknown (reset, timeout, 5xx): the helper then asks `status` before resending.
   */
  send(session: S, fragment: { offset: number; bytes: Uint8Array; total: number }, signal: AbortSignal): Promise<SessionStatus<R>>;
  /** Deletes the session (called on abort). Errors are ignored. */
  cancel?(session: S): Promise<void>;
  /**
   * The session is gone after every byte was sent to it: either it expired, or the last fragment
   * completed the upload and only its answer was lost (a reset, a timeout, a 504 while the service
   * committed, or a crash before the answer arrived: the next run finds the saved session gone).
   * Returns the stored result when the service has these exact bytes (OneDrive: the item at the
   * target path with this size and QuickXorHash), else undefined and a new session is started.
   * Without it, a lost final answer uploads the file a second time. A retryable error is retried
   * like a failed fragment; no new session is started while the answer is unknown.
   */
  committed?(session: S, upload: { size: number; hashes: Record<string, string> }, signal: AbortSignal): Promise<R | undefined>;
}

export interface ResumableUploadOptions<S, R> {
  protocol: ResumableProtocol<S, R>;
  /** Re-openable bytes (`Resource.open`). */
  open: OpenResource;
  size: number;
  /** Bytes per fragment except the last (OneDrive: a multiple of 320 KiB). */
  fragmentSize: number;
  /** Where session state persists across runs (`PutContext.resume`). */
  resume: ResumeStore;
  /** Key in `resume` (`Resource.key`). */
  resumeKey: string;
  /** Identity of the bytes (their sha256): saved state for other bytes is discarded. */
  fingerprint: string;
  /** Hashes to compute over all bytes while streaming (default sha256). */
  hashes?: readonly HashName[];
  signal: AbortSignal;
  onProgress?(bytes: number): void;
  logger?: Logger;
  /** Times to ask the server and continue after a failed fragment before giving up (default 8). */
  maxRecoveries?: number;
  /** Backoff base between recoveries (default 500 ms). */
  backoffBaseMs?: number;
  /** DELETE the session when the run is aborted (default true). */
  cancelOnAbort?: boolean;
}

export interface ResumableUploadResult<R> {
  result: R;
  /** Digests of every byte of the resource, by name. */
  hashes: Record<string, string>;
  bytes: number;
  /** Offset the upload continued from (0 for a fresh upload). */
  resumedFrom: number;
  /** Sessions opened in this call (more than one after an expired session). */
  sessionsStarted: number;
}

interface SavedState<S> {
  v: 1;
  fingerprint: string;
  size: number;
  session: S;
  /** The fragment ending at `size` was (about to be) sent: the session may have completed the upload. */
  lastSent?: boolean;
}

/**
 * Streams a resource through a resumable-upload protocol in fragments, holding at most two
 * fragments in memory (the one on the wire and the next, read ahead). The session is saved in `resume` as soon as it exists, so a later run (even
 * after `kill -9`) asks the server for its received offset and continues there instead of from
 * zero. Every byte is still hashed from offset 0: the prefix the server already has is read
 * locally and hashed, not re-sent. Fragment failures are recovered by asking the server what it
 * has (never by blindly resending); an expired session is replaced by a new one.
 */
export async function resumableUpload<S, R>(o: ResumableUploadOptions<S, R>): Promise<ResumableUploadResult<R>> {
  const { protocol, signal, size } = o;
  const logger = o.logger ?? silentLogger;
  const maxRecoveries = o.maxRecoveries ?? 8;
  const names = o.hashes ?? ['sha256'];
  const hashers: [string, Hasher][] = names.map((n) => [n, createHasher(n)]);
  let hashedUpTo = 0;
  let sessionsStarted = 0;
  /** The fragment ending at `size` was sent to the current session (its answer may be lost). */
  let sentEnd = false;
  let digests: Record<string, string> | undefined;
  /** Digests once every byte is hashed (a hasher's digest may be read only once). */
  const allDigests = () => (digests ??= Object.fromEntries(hashers.map(([n, h]) => [n, h.digest()])));

  const save = (session: S, lastSent = false) =>
    o.resume.save(o.resumeKey, { v: 1, fingerprint: o.fingerprint, size, session, ...(lastSent ? { lastSent } : {}) } satisfies SavedState<S>);
  const startSession = async () => {
    const s = await protocol.start(signal);
    sessionsStarted++;
    save(s);
    return s;
  };

  // Hash each byte exactly once, whatever offsets the reader is reopened at.
  const hashTap = (chunk: Uint8Array, at: number) => {
    const end = at + chunk.byteLength;
    if (end <= hashedUpTo) return;
    const part = at >= hashedUpTo ? chunk : chunk.subarray(hashedUpTo - at);
    for (const [, h] of hashers) h.update(part);
    hashedUpTo = end;
  };
  /** Reads and hashes the bytes not hashed yet. */
  const hashRest = async () => {
    let pos = hashedUpTo;
    for await (const chunk of o.open({ offset: pos, signal })) {
      hashTap(chunk, pos);
      pos += chunk.byteLength;
      if (pos > size) break;
    }
    if (hashedUpTo !== size) {
      throw new KeepsakeError('SOURCE_ITEM_TRUNCATED', `The source gave ${hashedUpTo < size ? hashedUpTo : 'more than'} bytes; ${size} were expected`, { classification: 'permanent' });
    }
  };

  let recoveries = 0;
  /** Waits before asking the server again after a retryable failure; rethrows when out of recoveries. */
  const recover = async (err: unknown, what: string) => {
    if (isAbortError(err) || signal.aborted) throw err;
    if (!isKeepsakeError(err) || err.classification !== 'retryable' || recoveries >= maxRecoveries) throw err;
    recoveries++;
    const delay = err.retryAfterMs ?? backoffDelay(recoveries - 1, o.backoffBaseMs ?? 500);
    logger.info(what, { attempt: recoveries, delayMs: delay, error: err.describe() });
    await sleep(delay, signal);
  };
  /**
   * Whether a session that is gone after its last fragment stored the upload. Needs every byte
   * hashed (an unknown digest never matches); a failed lookup is retried like a failed fragment
   * and never taken for "not stored", which would upload a second copy.
   */
  const askCommitted = async (s: S): Promise<R | undefined> => {
    if (!protocol.committed) return undefined;
    if (hashedUpTo < size) await hashRest();
    for (;;) {
      try {
        return await protocol.committed(s, { size, hashes: allDigests() }, signal);
      } catch (err) {
        await recover(err, 'could not ask whether the upload was stored; asking again');
      }
    }
  };

  // 1. Continue a saved session when it is for these bytes and the server still has it.
  let session: S | undefined;
  let status: SessionStatus<R> = { kind: 'partial', offset: 0 };
  const saved = o.resume.load<SavedState<S>>(o.resumeKey);
  if (saved && saved.v === 1 && saved.fingerprint === o.fingerprint && saved.size === size) {
    try {
      status = await protocol.status(saved.session, signal);
      if (status.kind !== 'expired') session = saved.session;
    } catch (err) {
      if (isAbortError(err)) throw err;
      logger.info('saved upload session unusable; starting a new one', { error: String((err as Error).message ?? err) });
      status = { kind: 'partial', offset: 0 };
    }
    if (!session && saved.lastSent) {
      // An earlier run sent the last fragment and never saw the answer (crash, or it gave up): the
      // session may be gone because it completed. Look for the stored file before sending again.
      // A failure here keeps the saved state, so the next attempt asks again.
      const result = await askCommitted(saved.session);
      if (result !== undefined) {
        logger.info('an earlier run completed this upload; its answer was lost');
        session = saved.session;
        status = { kind: 'done', result };
      }
    }
  } else if (saved) {
    o.resume.clear(o.resumeKey);
    await protocol.cancel?.((saved as SavedState<S>).session).catch(() => {});
  }
  if (!session) {
    session = await startSession();
    status = { kind: 'partial', offset: 0 };
  }
  const resumedFrom = status.kind === 'partial' ? status.offset : status.kind === 'done' ? size : 0;
  if (resumedFrom > 0) logger.info('resuming upload', { offset: resumedFrom, size });
  recoveries = 0;

  /** Passes in a row in which the server took no fragment (416 at the same offset, a new session 404ing…). */
  let stalls = 0;
  // Two fragment buffers, reused for the whole upload: memory stays at 2 × fragmentSize.
  const buffers = [0, 1].map(() => new Uint8Array(Math.min(o.fragmentSize, Math.max(size, 1))));

  try {
    while (status.kind !== 'done') {
      throwIfAborted(signal);
      if (status.kind === 'expired') {
        if (sentEnd && hashedUpTo === size && protocol.committed) {
          const result = await askCommitted(session);
          if (result !== undefined) {
            logger.info('the last fragment completed the upload; its answer was lost');
            status = { kind: 'done', result };
            continue;
          }
        }
        logger.info('upload session expired; starting a new one');
        session = await startSession();
        sentEnd = false;
        status = { kind: 'partial', offset: 0 };
      }
      const sendFrom = status.offset;
      if (sendFrom > size) throw new KeepsakeError('SINK_WRITE_FAILED', `The server reports ${sendFrom} bytes received of ${size}`, { classification: 'retryable' });
      // Read from where hashing or sending needs bytes, whichever is earlier.
      let pos = Math.min(sendFrom, hashedUpTo);
      let fill = 0;
      let fragStart = sendFrom;
      let next: SessionStatus<R> | undefined;
      // Double buffering: the next fragment is read and hashed while the previous one is on the
      // wire; still one fragment in flight per session, in order.
      let inflight: { promise: Promise<SessionStatus<R>>; start: number; length: number } | undefined;
      let fragment = buffers[0]!;
      let spare = buffers[1]!;
      let acknowledged = false;
      /** Waits for the fragment on the wire; returns the server's answer when it is not "continue". */
      const settle = async (): Promise<SessionStatus<R> | undefined> => {
        const f = inflight;
        if (!f) return undefined;
        inflight = undefined;
        const st = await f.promise;
        o.onProgress?.(f.length);
        recoveries = 0;
        if (st.kind === 'partial' && st.offset === f.start + f.length) {
          acknowledged = true;
          return undefined;
        }
        return st;
      };
      try {
        const stream = o.open({ offset: pos, signal });
        for await (const chunk of stream) {
          hashTap(chunk, pos);
          let c = chunk;
          let at = pos;
          pos += chunk.byteLength;
          if (pos <= fragStart) continue;
          if (at < fragStart) {
            c = c.subarray(fragStart - at);
            at = fragStart;
          }
          while (c.byteLength > 0) {
            const take = Math.min(c.byteLength, fragment.byteLength - fill);
            fragment.set(c.subarray(0, take), fill);
            fill += take;
            c = c.subarray(take);
            const end = fragStart + fill;
            if (fill === fragment.byteLength || end === size) {
              next = await settle();
              if (next) break;
              throwIfAborted(signal);
              if (end === size) {
                sentEnd = true;
                // Saved before the bytes leave: a run that dies now lets the next one ask `committed`.
                if (protocol.committed) save(session, true);
              }
              const promise = protocol.send(session, { offset: fragStart, bytes: fragment.subarray(0, fill), total: size }, signal);
              // Awaited in settle(); this only keeps an early rejection from being "unhandled".
              promise.catch(() => {});
              inflight = { promise, start: fragStart, length: fill };
              [fragment, spare] = [spare, fragment];
              fragStart = end;
              fill = 0;
            }
          }
          if (next || pos > size) break;
        }
        next ??= await settle();
      } catch (err) {
        // Never talk to the session while a fragment may still be on the wire.
        if (inflight) await inflight.promise.catch(() => {});
        inflight = undefined;
        await recover(err, 'fragment failed; asking the server what it has');
        status = await protocol.status(session, signal);
        continue;
      }
      if (next) {
        // A server that keeps refusing without taking bytes (416 whose status names the same offset,
        // every new session answering 404) must not spin forever: bounded like fragment failures.
        const advanced = acknowledged || next.kind === 'done' || (next.kind === 'partial' && next.offset > sendFrom);
        stalls = advanced ? 0 : stalls + 1;
        if (stalls > maxRecoveries) {
          throw new KeepsakeError('SINK_WRITE_FAILED', `The server took no bytes in ${stalls} attempts at offset ${sendFrom} of ${size}`, { classification: 'retryable' });
        }
        if (stalls > 0) await sleep(backoffDelay(stalls - 1, o.backoffBaseMs ?? 500), signal);
        status = next;
        continue;
      }
      if (pos !== size) {
        throw new KeepsakeError('SOURCE_ITEM_TRUNCATED', `The source gave ${pos < size ? pos : 'more than'} bytes; ${size} were expected`, { classification: 'permanent' });
      }
      if (fragStart === size && size > 0) {
        // Everything sent but the last answer was not "done": ask.
        status = await protocol.status(session, signal);
        if (status.kind === 'partial' && status.offset === size) {
          throw new KeepsakeError('SINK_WRITE_FAILED', 'The server received every byte but did not finish the upload', { classification: 'retryable' });
        }
      } else if (size === 0) {
        throw new KeepsakeError('SINK_WRITE_FAILED', 'A resumable upload cannot send 0 bytes; use a simple upload', { classification: 'permanent' });
      }
    }
    // The server may already be done (resumed after the last fragment): hash what is left.
    if (hashedUpTo < size) await hashRest();
  } catch (err) {
    if (isAbortError(err) || signal.aborted) {
      if (o.cancelOnAbort ?? true) {
        o.resume.clear(o.resumeKey);
        await protocol.cancel?.(session).catch(() => {});
      }
      throw isKeepsakeError(err) ? err : abortError(signal.reason);
    }
    throw err;
  }
  o.resume.clear(o.resumeKey);
  return {
    result: status.result,
    hashes: allDigests(),
    bytes: size,
    resumedFrom,
    sessionsStarted,
  };
}
