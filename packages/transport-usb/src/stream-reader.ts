/**
 * Exact-length reads from a socket with a timeout on every read.
 *
 * All device protocols here are length-prefixed, so the one primitive needed is "give me exactly
 * n bytes, or fail within t ms". The reader pauses the socket when too much is buffered (back-
 * pressure) and turns EOF/close/timeout into typed errors so a vanished iPhone never hangs a run.
 */
import type { Duplex } from 'node:stream';
import { KeepsakeError } from '@keepsake/core';

export const DEFAULT_READ_TIMEOUT_MS = 30_000;
const HIGH_WATER = 8 * 1024 * 1024;

export function disconnectedError(what: string, cause?: unknown): KeepsakeError {
  return new KeepsakeError('DEVICE_DISCONNECTED', `The iPhone disconnected while ${what}`, {
    hint: 'Check the cable, keep the iPhone unlocked and run again; finished files are kept and the rest resumes.',
    classification: 'retryable',
    cause,
  });
}

/**
 * A TLS error on an encrypted connection (an alert from the phone, a record it could not have
 * sent): with TLS 1.3 the phone checks the host certificate only after the host finished its
 * handshake, so a refusal shows up on the first read. Not a disconnect; retrying cannot help.
 */
export function tlsFailedError(what: string, cause: Error): KeepsakeError {
  return new KeepsakeError('DEVICE_TLS_FAILED', `The encrypted session with the iPhone failed while ${what}: ${cause.message}`, {
    cause,
    hint: 'Unplug and replug the iPhone; if it keeps failing, reset the pairing (Settings → General → Transfer or Reset → Reset Location & Privacy) and trust again.',
  });
}

/** Errors raised by OpenSSL (Node codes them ERR_SSL_*); a closed or reset connection is never one. */
function isTlsProtocolError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.startsWith('ERR_SSL_');
}

export function timeoutError(what: string, ms: number): KeepsakeError {
  return new KeepsakeError('TIMEOUT', `No answer from the iPhone for ${Math.round(ms / 1000)} s while ${what}`, {
    hint: 'Keep the iPhone unlocked and connected; a cable that drops out causes this too.',
    classification: 'retryable',
  });
}

interface Waiter {
  n: number;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

export class StreamReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiter: Waiter | undefined;
  private ended: Error | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.pump();
    // Pause only once more is buffered than the pending read needs: pausing short of a read larger
    // than HIGH_WATER would wait for bytes that never come.
    if (this.buffered > HIGH_WATER && this.buffered >= (this.waiter?.n ?? 0)) this.stream.pause();
  };
  private readonly onEnd = (): void => this.fail(disconnectedError(this.what));
  private readonly onError = (err: Error): void => this.fail(isTlsProtocolError(err) ? tlsFailedError(this.what, err) : disconnectedError(this.what, err));

  /** `what` describes the conversation for error messages ("talking to lockdownd"). */
  constructor(
    readonly stream: Duplex,
    private what = 'reading from the device',
  ) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onError);
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Reads exactly `n` bytes. Rejects with TIMEOUT or DEVICE_DISCONNECTED. */
  read(n: number, timeoutMs = DEFAULT_READ_TIMEOUT_MS, what = this.what): Promise<Buffer> {
    if (this.waiter) return Promise.reject(new Error('StreamReader: concurrent reads are not allowed'));
    if (n === 0) return Promise.resolve(Buffer.alloc(0));
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(timeoutError(what, timeoutMs));
      }, timeoutMs);
      this.waiter = {
        n,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.stream.resume();
    });
  }

  /**
   * Stops reading from the stream and hands it back (for a TLS upgrade). Bytes already buffered are
   * pushed back into the stream so nothing is lost.
   */
  detach(): Duplex {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.pause();
    if (this.buffered > 0) this.stream.unshift(Buffer.concat(this.chunks));
    this.chunks = [];
    this.buffered = 0;
    return this.stream;
  }

  private fail(err: Error): void {
    if (this.ended) return;
    this.ended = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  private pump(): void {
    const w = this.waiter;
    if (w && this.buffered >= w.n) {
      this.waiter = undefined;
      w.resolve(this.take(w.n));
    }
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0] as Buffer;
        const take = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, take);
        filled += take;
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
    }
    this.buffered -= n;
    if (this.buffered <= HIGH_WATER / 2 && this.stream.isPaused()) this.stream.resume();
    return out;
  }
}
