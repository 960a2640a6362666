import { createHash, randomBytes } from 'node:crypto';
import { KeepsakeError, type OpenResource, type ResumeStore } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { type ResumableProtocol, resumableUpload, type SessionStatus } from './resumable-upload.js';

/** A server-side upload session kept in memory, with knobs to misbehave. */
class MemoryService implements ResumableProtocol<{ id: number }, { id: number; bytes: Buffer }> {
  sessions = new Map<number, { received: Buffer[]; offset: number; expired: boolean }>();
  sends: { session: number; offset: number; length: number }[] = [];
  next = 1;
  cancelled: number[] = [];
  /** Throw this (once) on the Nth send, after optionally keeping the bytes. */
  failOn?: { send: number; keep: boolean; error: KeepsakeError };
  expireOnSend?: number;
  total: number;
  constructor(total: number) {
    this.total = total;
  }
  async start() {
    const id = this.next++;
    this.sessions.set(id, { received: [], offset: 0, expired: false });
    return { id };
  }
  async status(s: { id: number }): Promise<SessionStatus<{ id: number; bytes: Buffer }>> {
    const sess = this.sessions.get(s.id);
    if (!sess || sess.expired) return { kind: 'expired' };
    if (sess.offset === this.total) return { kind: 'done', result: { id: s.id, bytes: Buffer.concat(sess.received) } };
    return { kind: 'partial', offset: sess.offset };
  }
  async send(s: { id: number }, f: { offset: number; bytes: Uint8Array; total: number }) {
    this.sends.push({ session: s.id, offset: f.offset, length: f.bytes.byteLength });
    const sess = this.sessions.get(s.id);
    if (this.expireOnSend === this.sends.length && sess) sess.expired = true;
    if (!sess || sess.expired) return { kind: 'expired' } as const;
    if (f.offset !== sess.offset) return { kind: 'partial', offset: sess.offset } as const;
    const fail = this.failOn?.send === this.sends.length ? this.failOn : undefined;
    if (!fail || fail.keep) {
      sess.received.push(Buffer.from(f.bytes));
      sess.offset += f.bytes.byteLength;
    }
    if (fail) throw fail.error;
    return this.status(s);
  }
  async cancel(s: { id: number }) {
    this.cancelled.push(s.id);
    this.sessions.delete(s.id);
  }
}

function memoryResume(): ResumeStore & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return {
    data,
    load: <T>(k: string) => structuredClone(data.get(k)) as T | undefined,
    save: (k, v) => void data.set(k, structuredClone(v)),
    clear: (k) => void data.delete(k),
  };
}

function source(bytes: Buffer, chunk = 1000, opens: number[] = [], failAt?: number): OpenResource {
  return ({ offset = 0 } = {}) =>
    (async function* () {
      opens.push(offset);
      for (let i = offset; i < bytes.length; i += chunk) {
        if (failAt !== undefined && i >= failAt) throw new KeepsakeError('SOURCE_READ_FAILED', 'device unplugged', { classification: 'permanent' });
        yield bytes.subarray(i, Math.min(bytes.length, i + chunk));
      }
    })();
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const base = (bytes: Buffer, resume = memoryResume()) => ({
  size: bytes.length,
  fragmentSize: 4096,
  resume,
  resumeKey: 'r1',
  fingerprint: sha(bytes),
  signal: new AbortController().signal,
  backoffBaseMs: 1,
});

describe('resumableUpload', () => {
  it('sends fixed-size fragments in order and hashes every byte', async () => {
    const bytes = randomBytes(10_000);
    const svc = new MemoryService(bytes.length);
    const resume = memoryResume();
    let progress = 0;
    const r = await resumableUpload({ ...base(bytes, resume), protocol: svc, open: source(bytes, 777), onProgress: (n) => (progress += n) });
    expect(svc.sends.map((s) => [s.offset, s.length])).toEqual([
      [0, 4096],
      [4096, 4096],
      [8192, 1808],
    ]);
    expect(r.result.bytes.equals(bytes)).toBe(true);
    expect(r.hashes.sha256).toBe(sha(bytes));
    expect(progress).toBe(bytes.length);
    expect(resume.data.size).toBe(0);
  });

  it('after a crash, a new call continues from the server offset (prefix read and hashed, not re-sent)', async () => {
    const bytes = randomBytes(20_000);
    const svc = new MemoryService(bytes.length);
    const resume = memoryResume();
    // First run dies when the source fails at 9000 bytes (two fragments sent).
    await expect(resumableUpload({ ...base(bytes, resume), protocol: svc, open: source(bytes, 1000, [], 9000) })).rejects.toMatchObject({
      code: 'SOURCE_READ_FAILED',
    });
    expect(resume.data.get('r1')).toMatchObject({ session: { id: 1 } });
    const before = svc.sends.length;
    const opens: number[] = [];
    const r = await resumableUpload({ ...base(bytes, resume), protocol: svc, open: source(bytes, 1000, opens) });
    expect(r.resumedFrom).toBe(8192);
    expect(svc.sends.slice(before).map((s) => s.offset)).toEqual([8192, 12288, 16384]);
    expect(r.result.bytes.equals(bytes)).toBe(true);
    expect(r.hashes.sha256).toBe(sha(bytes));
    expect(r.sessionsStarted).toBe(0);
  });

  it('asks the server after a failed fragment and resends only what it lacks', async () => {
    const bytes = randomBytes(12_000);
    const svc = new MemoryService(bytes.length);
    // The 2nd fragment arrives but its answer is lost (reset): the helper must not send it again.
    svc.failOn = { send: 2, keep: true, error: new KeepsakeError('NETWORK_ERROR', 'ECONNRESET', { classification: 'retryable' }) };
    const r = await resumableUpload({ ...base(bytes), protocol: svc, open: source(bytes) });
    expect(svc.sends.map((s) => s.offset)).toEqual([0, 4096, 8192]);
    expect(r.result.bytes.equals(bytes)).toBe(true);
    expect(r.hashes.sha256).toBe(sha(bytes));
  });

  it('resends a fragment the server did not get', async () => {
    const bytes = randomBytes(12_000);
    const svc = new MemoryService(bytes.length);
    svc.failOn = { send: 2, keep: false, error: new KeepsakeError('HTTP_SERVER_ERROR', '502', { classification: 'retryable' }) };
    const r = await resumableUpload({ ...base(bytes), protocol: svc, open: source(bytes) });
    expect(svc.sends.map((s) => s.offset)).toEqual([0, 4096, 4096, 8192]);
    expect(r.result.bytes.equals(bytes)).toBe(true);
  });

  it('starts a new session when the session expired mid-upload', async () => {
    const bytes = randomBytes(12_000);
    const svc = new MemoryService(bytes.length);
    svc.expireOnSend = 2;
    const r = await resumableUpload({ ...base(bytes), protocol: svc, open: source(bytes) });
    expect(r.sessionsStarted).toBe(2);
    expect(r.result.id).toBe(2);
    expect(r.result.bytes.equals(bytes)).toBe(true);
    expect(r.hashes.sha256).toBe(sha(bytes));
  });

  it('asks `committed` instead of uploading again when the session vanished after the last fragment', async () => {
    const bytes = randomBytes(10_000);
    const svc = new MemoryService(bytes.length);
    // The last fragment completes the upload, the answer is lost, and the finished session is gone.
    const lost = new KeepsakeError('NETWORK_ERROR', 'socket hang up', { classification: 'retryable' });
    svc.failOn = { send: 3, keep: true, error: lost };
    const stored: { size: number; hashes: Record<string, string> }[] = [];
    const protocol: ResumableProtocol<{ id: number }, { id: number; bytes: Buffer }> = {
      start: () => svc.start(),
      send: (s, f) => svc.send(s, f),
      status: async (s) => {
        const st = await svc.status(s);
        if (st.kind === 'done') {
          stored.push({ size: st.result.bytes.length, hashes: { sha256: sha(st.result.bytes) } });
          svc.sessions.delete(s.id);
          return { kind: 'expired' };
        }
        return st;
      },
      committed: async (s, upload) => {
        const hit = stored.find((f) => f.size === upload.size && f.hashes.sha256 === upload.hashes.sha256);
        return hit ? { id: s.id, bytes } : undefined;
      },
    };
    const r = await resumableUpload({ ...base(bytes), protocol, open: source(bytes) });
    expect(r.sessionsStarted).toBe(1);
    expect(svc.sends).toHaveLength(3);
    expect(r.hashes.sha256).toBe(sha(bytes));
  });

  it('starts a new session when `committed` finds nothing', async () => {
    const bytes = randomBytes(10_000);
    const svc = new MemoryService(bytes.length);
    svc.failOn = { send: 3, keep: false, error: new KeepsakeError('TIMEOUT', 'no answer', { classification: 'retryable' }) };
    const asked: number[] = [];
    const protocol: ResumableProtocol<{ id: number }, { id: number; bytes: Buffer }> = {
      start: () => svc.start(),
      send: (s, f) => svc.send(s, f),
      status: async (s) => {
        svc.sessions.get(s.id)!.expired = true;
        return svc.status(s);
      },
      committed: async (s) => {
        asked.push(s.id);
        return undefined;
      },
    };
    const r = await resumableUpload({ ...base(bytes), protocol, open: source(bytes) });
    expect(asked).toEqual([1]);
    expect(r.sessionsStarted).toBe(2);
    expect(r.result.bytes.equals(bytes)).toBe(true);
  });

  /** A service whose finished sessions vanish (status 404), keeping the stored files for `committed`. */
  const committingService = (bytes: Buffer) => {
    const svc = new MemoryService(bytes.length);
    const stored: { id: number; bytes: Buffer }[] = [];
    const lookups: { size: number; hashes: Record<string, string> }[] = [];
    let failLookups = 0;
    const protocol: ResumableProtocol<{ id: number }, { id: number; bytes: Buffer }> = {
      start: () => svc.start(),
      send: async (s, f) => {
        const st = await svc.send(s, f);
        if (st.kind !== 'done') return st;
        stored.push(st.result);
        svc.sessions.delete(s.id);
        return st;
      },
      status: (s) => svc.status(s),
      committed: async (_s, upload) => {
        lookups.push(upload);
        if (failLookups > 0) {
          failLookups--;
          throw new KeepsakeError('HTTP_SERVER_ERROR', 'OneDrive answered 503', { classification: 'retryable' });
        }
        return stored.find((f) => f.bytes.length === upload.size && sha(f.bytes) === upload.hashes.sha256);
      },
    };
    return { svc, stored, lookups, protocol, failLookups: (n: number) => (failLookups = n) };
  };
  /** A source that hands over every byte, then its process dies (the last fragment is already on the wire). */
  const dyingAfterLastByte = (bytes: Buffer): OpenResource => {
    const open = source(bytes);
    return (o) =>
      (async function* () {
        yield* open(o);
        throw new Error('process killed');
      })();
  };

  it('after a run that died once the last fragment was sent, the next call asks `committed` before starting a new session', async () => {
    const bytes = randomBytes(10_000);
    const { svc, stored, lookups, protocol } = committingService(bytes);
    const resume = memoryResume();
    await expect(resumableUpload({ ...base(bytes, resume), protocol, open: dyingAfterLastByte(bytes) })).rejects.toThrow('process killed');
    expect(stored).toHaveLength(1);
    expect(resume.data.get('r1')).toMatchObject({ session: { id: 1 }, lastSent: true });

    const opens: number[] = [];
    const r = await resumableUpload({ ...base(bytes, resume), protocol, open: source(bytes, 1000, opens) });
    expect(lookups).toEqual([{ size: bytes.length, hashes: { sha256: sha(bytes) } }]);
    expect(r.result).toBe(stored[0]);
    expect(r.sessionsStarted).toBe(0);
    expect(r.hashes.sha256).toBe(sha(bytes));
    expect(svc.sends).toHaveLength(3);
    // The bytes were read once, to hash them.
    expect(opens).toEqual([0]);
    expect(resume.data.size).toBe(0);
  });

  it('a saved session that died before its last fragment is replaced without asking `committed` (no extra read)', async () => {
    const bytes = randomBytes(20_000);
    const { svc, lookups, protocol } = committingService(bytes);
    const resume = memoryResume();
    await expect(resumableUpload({ ...base(bytes, resume), protocol, open: source(bytes, 1000, [], 9000) })).rejects.toMatchObject({ code: 'SOURCE_READ_FAILED' });
    expect(resume.data.get('r1')).not.toHaveProperty('lastSent');
    svc.sessions.get(1)!.expired = true;
    const opens: number[] = [];
    const r = await resumableUpload({ ...base(bytes, resume), protocol, open: source(bytes, 1000, opens) });
    expect(lookups).toEqual([]);
    expect(opens).toEqual([0]);
    expect(r.sessionsStarted).toBe(1);
    expect(r.result.bytes.equals(bytes)).toBe(true);
  });

  it('a failing `committed` is retried like a failed fragment, and a call that gives up leaves the next one to ask again', async () => {
    const bytes = randomBytes(10_000);
    const { svc, stored, lookups, protocol, failLookups } = committingService(bytes);
    const resume = memoryResume();
    await expect(resumableUpload({ ...base(bytes, resume), protocol, open: dyingAfterLastByte(bytes) })).rejects.toThrow('process killed');
    // More failures than this call may recover from: it gives up with the lookup's error and keeps the session.
    failLookups(4);
    await expect(resumableUpload({ ...base(bytes, resume), protocol, open: source(bytes), maxRecoveries: 2 })).rejects.toMatchObject({
      code: 'HTTP_SERVER_ERROR',
      classification: 'retryable',
    });
    expect(lookups).toHaveLength(3);
    expect(svc.next).toBe(2);
    expect(resume.data.get('r1')).toMatchObject({ session: { id: 1 }, lastSent: true });
    // One failure left: retried within the call, then found.
    const r = await resumableUpload({ ...base(bytes, resume), protocol, open: source(bytes), maxRecoveries: 2 });
    expect(lookups).toHaveLength(5);
    expect(r.result).toBe(stored[0]);
    expect(svc.next).toBe(2);
    expect(stored).toHaveLength(1);
  });

  it('a failing `committed` within one call is retried instead of thrown out', async () => {
    const bytes = randomBytes(10_000);
    const { svc, stored, lookups, protocol, failLookups } = committingService(bytes);
    // The last fragment completes the upload but its answer is lost.
    const send = protocol.send;
    protocol.send = async (s, f, signal) => {
      const st = await send(s, f, signal);
      if (st.kind === 'done') throw new KeepsakeError('NETWORK_ERROR', 'socket hang up', { classification: 'retryable' });
      return st;
    };
    failLookups(2);
    const r = await resumableUpload({ ...base(bytes), protocol, open: source(bytes) });
    expect(lookups).toHaveLength(3);
    expect(r.result).toBe(stored[0]);
    expect(svc.next).toBe(2);
  });

  it('gives up (retryable) when the server keeps naming the offset it just refused', async () => {
    const bytes = randomBytes(10_000);
    const svc = new MemoryService(bytes.length);
    let sends = 0;
    const protocol: ResumableProtocol<{ id: number }, { id: number; bytes: Buffer }> = {
      start: () => svc.start(),
      status: (s) => svc.status(s),
      // A 416 whose status query names the offset that was just refused, every time.
      send: async () => {
        if (++sends > 1000) throw new KeepsakeError('SINK_WRITE_FAILED', 'still looping', { classification: 'permanent' });
        return { kind: 'partial', offset: 0 };
      },
    };
    const err = await resumableUpload({ ...base(bytes), protocol, open: source(bytes) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'SINK_WRITE_FAILED', classification: 'retryable' });
    expect(sends).toBe(9);
  });

  it('gives up when every new session is gone at its first fragment', async () => {
    const bytes = randomBytes(10_000);
    const svc = new MemoryService(bytes.length);
    const protocol: ResumableProtocol<{ id: number }, { id: number; bytes: Buffer }> = {
      start: () => {
        if (svc.next > 1000) throw new KeepsakeError('SINK_WRITE_FAILED', 'still looping', { classification: 'permanent' });
        return svc.start();
      },
      status: (s) => svc.status(s),
      send: async () => ({ kind: 'expired' }),
    };
    const err = await resumableUpload({ ...base(bytes), protocol, open: source(bytes) }).catch((e) => e);
    expect(err).toMatchObject({ code: 'SINK_WRITE_FAILED', classification: 'retryable' });
    expect(svc.next - 1).toBe(9);
  });

  it('discards saved state for different bytes and cancels that session', async () => {
    const bytes = randomBytes(5000);
    const svc = new MemoryService(bytes.length);
    const resume = memoryResume();
    resume.save('r1', { v: 1, fingerprint: 'other', size: 5000, session: { id: 99 } });
    const r = await resumableUpload({ ...base(bytes, resume), protocol: svc, open: source(bytes) });
    expect(svc.cancelled).toEqual([99]);
    expect(r.resumedFrom).toBe(0);
  });

  it('gives up on a permanent error but keeps the session for the next run', async () => {
    const bytes = randomBytes(9000);
    const svc = new MemoryService(bytes.length);
    const resume = memoryResume();
    svc.failOn = { send: 1, keep: false, error: new KeepsakeError('HTTP_CLIENT_ERROR', '400', { classification: 'permanent' }) };
    await expect(resumableUpload({ ...base(bytes, resume), protocol: svc, open: source(bytes) })).rejects.toMatchObject({ code: 'HTTP_CLIENT_ERROR' });
    expect(resume.data.has('r1')).toBe(true);
    expect(svc.cancelled).toEqual([]);
  });

  it('cancels the session on abort', async () => {
    const bytes = randomBytes(50_000);
    const svc = new MemoryService(bytes.length);
    const resume = memoryResume();
    const ac = new AbortController();
    const open: OpenResource = ({ offset = 0 } = {}) =>
      (async function* () {
        for (let i = offset; i < bytes.length; i += 1000) {
          if (i >= 10_000) ac.abort();
          yield bytes.subarray(i, i + 1000);
        }
      })();
    await expect(resumableUpload({ ...base(bytes, resume), signal: ac.signal, protocol: svc, open })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(svc.cancelled).toEqual([1]);
    expect(resume.data.has('r1')).toBe(false);
  });

  it('reports a source shorter than announced', async () => {
    const bytes = randomBytes(9000);
    const svc = new MemoryService(10_000);
    await expect(resumableUpload({ ...base(bytes), size: 10_000, protocol: svc, open: source(bytes) })).rejects.toMatchObject({ code: 'SOURCE_ITEM_TRUNCATED' });
  });
});
