/**
 * Test helpers (not exported from the package): a local SMTP server that advertises SIZE and
 * requires AUTH, a proxy that cuts connections, and in-memory assets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import type { Asset, PutContext, Resource, ResumeStore } from '@keepsake/core';
import { mediaTypeOf, silentLogger } from '@keepsake/core';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMessage {
  raw: Buffer;
  parsed: ParsedMail;
}

export interface TestSmtp {
  port: number;
  messages: ReceivedMessage[];
  /** Messages refused with 552 (their raw size). */
  refusedSizes: number[];
  close(): Promise<void>;
}

export async function startTestSmtp(opts: {
  size: number;
  hideSize?: boolean;
  user?: string;
  pass?: string;
  /** Reply code for RCPT TO of an address (e.g. 550 unknown user, 450 deferred); undefined accepts it. */
  rcpt?: (address: string) => number | undefined;
}): Promise<TestSmtp> {
  const messages: ReceivedMessage[] = [];
  const refusedSizes: number[] = [];
  const server = new SMTPServer({
    size: opts.size,
    hideSize: opts.hideSize ?? false,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    onAuth(auth, _session, cb) {
      if (auth.username === (opts.user ?? 'alice') && auth.password === (opts.pass ?? 's3cret')) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, cb) {
      const code = opts.rcpt?.(address.address);
      if (code === undefined) return cb();
      cb(Object.assign(new Error(`Recipient <${address.address}> refused`), { responseCode: code }));
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        if ((stream as unknown as { sizeExceeded: boolean }).sizeExceeded) {
          refusedSizes.push(raw.byteLength);
          return cb(Object.assign(new Error('Message exceeds fixed maximum message size'), { responseCode: 552 }));
        }
        simpleParser(raw).then(
          (parsed) => {
            messages.push({ raw, parsed });
            cb(null);
          },
          (err: Error) => cb(err),
        );
      });
    },
  });
  server.on('error', () => {}); // clients dropping connections on purpose (tests) are not failures
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    refusedSizes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP proxy that drops both sides once the client has sent `cutAfterBytes`. */
export async function startCuttingProxy(targetPort: number, cutAfterBytes: number): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    let sent = 0;
    client.on('data', (d: Buffer) => {
      sent += d.byteLength;
      if (sent > cutAfterBytes) {
        client.destroy();
        upstream.destroy();
      } else upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

export function memoryResource(name: string, bytes: Uint8Array, role: Resource['role'] = 'original'): Resource {
  return {
    role,
    name,
    key: `mem/${name}`,
    size: bytes.byteLength,
    mtimeMs: 0,
    mediaType: mediaTypeOf(name),
    sha256: sha256(bytes),
    open: (o = {}) =>
      (async function* () {
        for (let off = o.offset ?? 0; off < bytes.byteLength; off += 65536) yield bytes.subarray(off, off + 65536);
      })(),
  };
}

export function photoAsset(id: string, size: number, name = `${id}.JPG`): Asset {
  return { id, kind: 'photo', capturedAt: { local: '2024-06-01T10:20:30', source: 'exif' }, resources: [memoryResource(name, randomBytes(size))] };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function memoryResume(): ResumeStore {
  const m = new Map<string, unknown>();
  return {
    load: <T>(k: string) => m.get(k) as T | undefined,
    save: (k, v) => void m.set(k, v),
    clear: (k) => void m.delete(k),
  };
}

export function putContext(signal: AbortSignal = new AbortController().signal): PutContext {
  return { signal, logger: silentLogger, resume: memoryResume(), onProgress() {}, tempDir: '/tmp' };
}

/** Bytes of every resource of an asset, for comparing with what arrived. */
export async function bytesOf(r: Resource): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of r.open()) parts.push(c);
  return Buffer.concat(parts);
}
