import { connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';

export interface SmtpProbeOptions {
  host: string;
  port: number;
  /** Implicit TLS (port 465). */
  secure: boolean;
  timeoutMs: number;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
}

export interface SmtpProbeResult {
  /** The `SIZE n` the server advertised in EHLO; undefined when it gave no number (no fixed limit). */
  maxMessageBytes: number | undefined;
  extensions: string[];
}

/**
 * Asks the server for its EHLO extensions (RFC 1870 `SIZE`) without logging in: greeting, EHLO,
 * QUIT. nodemailer parses SIZE too but keeps it private, and a too-big message should be avoided
 * before it is sent, not learned from a 552 after megabytes went over the wire.
 */
export function probeSmtpSize(options: SmtpProbeOptions): Promise<SmtpProbeResult> {
  return new Promise((resolve, reject) => {
    const socket: Socket = options.secure
      ? tlsConnect({ host: options.host, port: options.port, servername: options.host, rejectUnauthorized: options.rejectUnauthorized !== false })
      : netConnect({ host: options.host, port: options.port });
    let buffer = '';
    let stage: 'greeting' | 'ehlo' | 'done' = 'greeting';
    const finish = (err: Error | undefined, result?: SmtpProbeResult) => {
      if (stage === 'done') return;
      stage = 'done';
      socket.setTimeout(0);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.end('QUIT\r\n');
        resolve(result!);
      }
    };
    socket.setTimeout(options.timeoutMs, () => finish(new Error(`SMTP server ${options.host}:${options.port} did not answer EHLO within ${options.timeoutMs} ms`)));
    socket.setEncoding('utf8');
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`SMTP server ${options.host}:${options.port} closed the connection during EHLO`)));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 64 * 1024) return finish(new Error('SMTP EHLO response too long'));
      const reply = takeReply(buffer);
      if (!reply) return;
      buffer = buffer.slice(reply.consumed);
      if (stage === 'greeting') {
        if (reply.code !== 220) return finish(new Error(`SMTP greeting was "${reply.lines.join(' ')}"`));
        stage = 'ehlo';
        socket.write(`EHLO ${ehloName()}\r\n`);
      } else if (stage === 'ehlo') {
        if (reply.code !== 250) return finish(new Error(`SMTP EHLO was answered "${reply.lines.join(' ')}"`));
        finish(undefined, parseEhlo(reply.lines));
      }
    });
  });
}

/** Extracts one complete (possibly multi-line `250-…`) reply from the head of `buffer`. */
export function takeReply(buffer: string): { code: number; lines: string[]; consumed: number } | undefined {
  const lines: string[] = [];
  let pos = 0;
  for (;;) {
    const eol = buffer.indexOf('\n', pos);
    if (eol < 0) return undefined;
    const line = buffer.slice(pos, eol).replace(/\r$/, '');
    pos = eol + 1;
    lines.push(line.slice(4));
    if (line.length < 4 || line[3] !== '-') return { code: Number.parseInt(line.slice(0, 3), 10), lines, consumed: pos };
  }
}

/** EHLO lines after the first are extension keywords; `SIZE 0` or bare `SIZE` means no fixed limit (RFC 1870). */
export function parseEhlo(lines: string[]): SmtpProbeResult {
  const extensions = lines.slice(1).map((l) => l.trim());
  let maxMessageBytes: number | undefined;
  for (const ext of extensions) {
    const m = ext.match(/^SIZE(?:\s+(\d+))?$/i);
    if (m?.[1]) {
      const n = Number.parseInt(m[1], 10);
      if (n > 0) maxMessageBytes = n;
    }
  }
  return { maxMessageBytes, extensions };
}

function ehloName(): string {
  const name = hostname();
  return /^[A-Za-z0-9.-]+$/.test(name) && name.includes('.') ? name : '[127.0.0.1]';
}
