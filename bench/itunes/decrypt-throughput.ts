// Decrypt+copy throughput of one large encrypted backup file: keepsake's streamed AES-256-CBC
// reader (the code every encrypted backup resource goes through) vs `openssl enc -d -aes-256-cbc`
// on the same ciphertext, in the same run. Target: keepsake >= 0.7x openssl.
//
// The ciphertext is made exactly like a backup content file: AES-256-CBC, zero IV, PKCS#7 padding.
// Plaintext is pseudo-random (AES-CTR keystream), so nothing compresses or dedupes. Both tools
// write a plain output file; outputs are checked against the plaintext's SHA-256 after timing.
// Plain Node (type stripping): erasable syntax only. Needs `pnpm --filter @keepsake/plugin-itunes-backup build`.
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const PLUGIN = fileURLToPath(new URL('../../packages/plugin-itunes-backup/dist/index.js', import.meta.url));
const CORE = fileURLToPath(new URL('../../packages/core/dist/index.js', import.meta.url));
if (!existsSync(PLUGIN)) throw new Error(`${PLUGIN} missing: pnpm --filter @keepsake/plugin-itunes-backup build`);
const { openBackupContent } = await import(PLUGIN);
const { writeStreamAtomic } = await import(CORE);

const SIZE = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3);
const WORK = process.env.BENCH_DIR ?? fileURLToPath(new URL('../.work/itunes/', import.meta.url));
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

const key = randomBytes(32);
const cipherPath = join(WORK, 'cipher.bin');

// 1. Make the ciphertext (streamed; plaintext hash computed on the way).
const plainHash = createHash('sha256');
{
  const ctr = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  let left = SIZE;
  async function* plaintext() {
    while (left > 0) {
      const n = Math.min(left, chunk.byteLength);
      const p = ctr.update(chunk.subarray(0, n));
      plainHash.update(p);
      left -= n;
      yield p;
    }
  }
  await pipeline(Readable.from(plaintext()), createCipheriv('aes-256-cbc', key, Buffer.alloc(16)), createWriteStream(cipherPath));
}
const expected = plainHash.digest('hex');
const cipherBytes = statSync(cipherPath).size;

const sha256File = async (p: string) => {
  const h = createHash('sha256');
  for await (const c of createReadStream(p, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
};

interface Timing {
  wallMs: number;
  /** user + system CPU time, all threads. */
  cpuMs: number;
}

/** openssl under GNU time, which reports the child's user+system CPU seconds on stderr. */
function runOpenssl(out: string): Timing {
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'openssl', 'enc', '-d', '-aes-256-cbc', '-K', key.toString('hex'), '-iv', '00'.repeat(16), '-in', cipherPath, '-out', out]);
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const [user, sys] = r.stderr.toString().trim().split('\n').pop()!.split(' ').map(Number);
  return { wallMs, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000 };
}

/** Wall and process CPU time of an in-process run (process.cpuUsage covers the thread pool too). */
async function timed(fn: () => Promise<void>): Promise<Timing> {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  await fn();
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  const d = process.cpuUsage(c);
  return { wallMs, cpuMs: (d.user + d.system) / 1000 };
}

/** Decrypt and write with a plain write loop (what openssl does: no hashing, no temp file). */
async function runKeepsake(out: string): Promise<Timing> {
  return timed(async () => {
    const fh = await open(out, 'w');
    try {
      for await (const chunk of openBackupContent({ path: cipherPath, size: SIZE, key, label: 'bench' }) as AsyncIterable<Uint8Array>) {
        let off = 0;
        while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
      }
    } finally {
      await fh.close();
    }
  });
}

/** The same read through a folder sink's write path (atomic temp file + in-stream SHA-256, no fsync). */
async function runKeepsakeSink(out: string): Promise<Timing> {
  return timed(async () => {
    const r = await writeStreamAtomic(out, openBackupContent({ path: cipherPath, size: SIZE, key, label: 'bench' }), { durable: false });
    if (r.hashes.sha256 !== expected) throw new Error('sink hash mismatch');
  });
}

const results: Record<string, Timing[]> = { openssl: [], keepsake: [], 'keepsake+sha256 sink': [] };
for (let i = 0; i < ROUNDS; i++) {
  // Alternate so page-cache warmth and thermal drift hit every contender alike.
  for (const [name, fn] of [
    ['openssl', async (o: string) => runOpenssl(o)],
    ['keepsake', runKeepsake],
    ['keepsake+sha256 sink', runKeepsakeSink],
  ] as const) {
    const out = join(WORK, `out-${name.replace(/\W/g, '')}.bin`);
    rmSync(out, { force: true });
    results[name]?.push(await fn(out));
    if (name !== 'keepsake+sha256 sink' && (await sha256File(out)) !== expected) throw new Error(`${name} output differs from the plaintext`);
    rmSync(out, { force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const mibps = (ms: number) => SIZE / 1024 / 1024 / (ms / 1000);
const refWall = median((results.openssl as Timing[]).map((t) => t.wallMs));
const refCpu = median((results.openssl as Timing[]).map((t) => t.cpuMs));
console.log(`# itunes-backup decrypt+copy, ${(SIZE / 1024 ** 3).toFixed(2)} GiB plaintext (${cipherBytes} bytes ciphertext), ${ROUNDS} rounds, medians, work dir ${WORK}`);
console.log(`# ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}, ${spawnSync('openssl', ['version']).stdout.toString().trim()}`);
console.log('# ratio > 1 means faster than openssl; "per CPU-s" divides bytes by user+system CPU time (robust on a busy machine)');
for (const [name, xs] of Object.entries(results)) {
  const wall = median(xs.map((t) => t.wallMs));
  const cpu = median(xs.map((t) => t.cpuMs));
  console.log(
    `${name.padEnd(22)} wall ${(wall / 1000).toFixed(2)} s ${mibps(wall).toFixed(0).padStart(5)} MiB/s ${(refWall / wall).toFixed(2)}x | cpu ${(cpu / 1000).toFixed(2)} s ${mibps(cpu).toFixed(0).padStart(5)} MiB/CPU-s ${(refCpu / cpu).toFixed(2)}x | walls ${xs.map((t) => (t.wallMs / 1000).toFixed(2)).join(', ')}`,
  );
}
rmSync(WORK, { recursive: true, force: true });
