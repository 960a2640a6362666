// A probe for (b), not keepsake: how fast can *any* Node copy go on this machine while doing the
// work keepsake's guarantees need (sha256 + CRC-32 of every byte, fsync of every file, no-clobber
// rename, CRC-32 read-back)? Threads copy whole files with synchronous I/O; unlike keepsake there
// is no ledger, no pipeline and one folder fsync at the end instead of one per file. `cp -r && sync`
// is measured in the same run.
//
//   node bench/foundation/copy-ceiling.ts          (BENCH_GB=2, BENCH_THREADS=8, BENCH_ROUNDS=2)
//
// `direct` writes with O_DIRECT (page-aligned shared memory; the unaligned tail through a normal
// descriptor) and reads back with O_DIRECT, so the read-back comes from the disk.
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { machine, measure, secs, sync, workDir, writeCameraRoll } from './common.ts';

const CHUNK = 1 << 20;

interface Job {
  src: string;
  dest: string;
  direct: boolean;
}

function copyOne(name: string, job: Job, buf: Buffer): void {
  const source = openSync(join(job.src, name), 'r');
  const tmp = join(job.dest, `.partial-${name}`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (job.direct ? constants.O_DIRECT : 0);
  const out = openSync(tmp, flags, 0o644);
  const sha = createHash('sha256');
  let crc = 0;
  let pos = 0;
  let tail: { bytes: Buffer; at: number } | undefined;
  for (;;) {
    const n = readSync(source, buf, 0, CHUNK, pos);
    if (n === 0) break;
    const chunk = buf.subarray(0, n);
    sha.update(chunk);
    crc = crc32(chunk, crc);
    const whole = job.direct ? n & ~4095 : n; // O_DIRECT needs block-sized writes
    for (let off = 0; off < whole; ) off += writeSync(out, chunk, off, whole - off, pos + off);
    if (whole < n) tail = { bytes: Buffer.from(chunk.subarray(whole)), at: pos + whole };
    pos += n;
  }
  closeSync(source);
  closeSync(out);
  const finish = openSync(tmp, 'r+');
  if (tail) writeSync(finish, tail.bytes, 0, tail.bytes.length, tail.at);
  fsyncSync(finish);
  closeSync(finish);
  linkSync(tmp, join(job.dest, name));
  unlinkSync(tmp);
  const back = openSync(join(job.dest, name), job.direct ? constants.O_RDONLY | constants.O_DIRECT : constants.O_RDONLY);
  let crcBack = 0;
  let read = 0;
  for (;;) {
    const n = readSync(back, buf, 0, CHUNK, read);
    if (n === 0) break;
    crcBack = crc32(buf.subarray(0, n), crcBack);
    read += n;
  }
  closeSync(back);
  if (crcBack !== crc || read !== pos) throw new Error(`read-back mismatch for ${name}`);
  sha.digest();
}

if (!isMainThread) {
  const job = workerData as Job;
  // page-aligned memory (O_DIRECT needs it): a shared WebAssembly memory is mapped on a page boundary
  const buf = Buffer.from(new WebAssembly.Memory({ initial: CHUNK / 65536, maximum: CHUNK / 65536, shared: true }).buffer);
  parentPort!.on('message', (name: string | null) => {
    if (name === null) process.exit(0);
    copyOne(name, job, buf);
    parentPort!.postMessage(name);
  });
} else {
  const GB = Number(process.env.BENCH_GB ?? 2);
  const THREADS = Number(process.env.BENCH_THREADS ?? 8);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
  const dir = workDir('copy-ceiling');
  const src = join(dir, 'src');
  const { files, bytes } = writeCameraRoll(src, GB * 1e9);
  sync();
  console.log(`# copy ceiling probe, ${files} files, ${(bytes / 1e9).toFixed(2)} GB, ${THREADS} threads — ${machine()}`);
  const names = readdirSync(src).sort();
  const rate = (ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;

  const probe = async (direct: boolean): Promise<{ ms: number; cpuMs: number }> => {
    const dest = join(dir, 'dest');
    mkdirSync(dest);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from(
        { length: THREADS },
        () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(new URL(import.meta.url), { workerData: { src, dest, direct } satisfies Job });
            const feed = () => w.postMessage(next < names.length ? names[next++]! : null);
            w.on('message', feed);
            w.once('error', reject);
            w.once('exit', () => resolve());
            feed();
          }),
      ),
    );
    const folder = openSync(dest, 'r');
    fsyncSync(folder);
    closeSync(folder);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(cpu0);
    return { ms, cpuMs: (c.user + c.system) / 1000 };
  };

  for (let round = 1; round <= ROUNDS; round++) {
    for (const who of ['cp+sync', 'probe', 'probe-direct'] as const) {
      rmSync(join(dir, 'dest'), { recursive: true, force: true });
      sync();
      let ms: number;
      let cpuMs: number;
      if (who === 'cp+sync') {
        const r = await measure('sh', ['-c', 'cp -r src dest && sync'], { cwd: dir });
        if (r.code !== 0) throw new Error(r.stderr);
        ms = r.wallMs;
        cpuMs = r.cpuMs;
      } else ({ ms, cpuMs } = await probe(who === 'probe-direct'));
      console.log(`round ${round} ${who}: ${secs(ms)} ${rate(ms)}, cpu ${secs(cpuMs)}`);
    }
  }
  console.log(`load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  rmSync(dir, { recursive: true, force: true });
  sync();
}
