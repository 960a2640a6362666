/**
 * A fixed-size pool of worker threads that convert one HEIC each. Jobs wait in a FIFO queue, so
 * memory is bounded by `size` images in flight (about 150 MB each for a 12 MP photo), however
 * many assets the pipeline offers at once. Idle workers do not keep the process alive.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ConvertJob, ConvertResult } from './convert.js';
import type { JobMessage, ReplyMessage, StopMessage, StoppedMessage } from './worker.js';

/** Error a worker reported, with the name of the error class it threw there. */
export class WorkerJobError extends Error {
  constructor(
    message: string,
    readonly remoteName: string,
  ) {
    super(message);
    this.name = 'WorkerJobError';
  }
}

interface Pending {
  id: number;
  job: ConvertJob;
  resolve(result: ConvertResult): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  current: Pending | undefined;
  /** Jobs finished by this worker. */
  done: number;
}

/**
 * Jobs after which a worker is replaced by a fresh one. The wasm heap only grows (to the largest
 * image seen) and fragments, so long runs would creep upwards; a new worker starts from scratch.
 */
export const DEFAULT_JOBS_PER_WORKER = 32;

/**
 * The built worker (dist/worker.js). When this module runs from source (tests), the worker still
 * comes from dist: Node cannot start a `.ts` worker whose imports say `.js`.
 */
export function defaultWorkerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../dist/worker.js', import.meta.url);
}

export class ConversionPool {
  readonly size: number;
  private readonly queue: Pending[] = [];
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    size = availableParallelism(),
    private readonly workerUrl: URL = defaultWorkerUrl(),
    private readonly jobsPerWorker = DEFAULT_JOBS_PER_WORKER,
  ) {
    this.size = Math.max(1, Math.floor(size));
  }

  /** Jobs waiting for a free worker. */
  get queued(): number {
    return this.queue.length;
  }

  run(job: ConvertJob): Promise<ConvertResult> {
    if (this.closed) return Promise.reject(new Error('The HEIC conversion pool is closed'));
    return new Promise<ConvertResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.current);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const pending = this.queue.shift() as Pending;
      slot.current = pending;
      slot.worker.ref();
      slot.worker.postMessage({ id: pending.id, job: pending.job } satisfies JobMessage);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl);
    const slot: Slot = { worker, current: undefined, done: 0 };
    worker.on('message', (reply: ReplyMessage | StoppedMessage) => {
      if ('stopped' in reply) return;
      const pending = slot.current;
      if (!pending || pending.id !== reply.id) return;
      slot.current = undefined;
      worker.unref();
      if (++slot.done >= this.jobsPerWorker) this.retire(slot);
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(new WorkerJobError(reply.error.message, reply.error.name));
      this.dispatch();
    });
    const lost = (err: Error) => {
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots.splice(index, 1);
      slot.current?.reject(err);
      slot.current = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err) => lost(err));
    worker.on('exit', (code) => lost(new Error(`HEIC conversion worker exited with code ${code}`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }

  /** Takes an idle worker out of the pool and stops it; `dispatch` starts a new one when needed. */
  private retire(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index !== -1) this.slots.splice(index, 1);
    slot.worker.removeAllListeners('exit');
    slot.worker.removeAllListeners('error');
    slot.worker.on('error', () => {});
    void slot.worker.terminate();
  }

  /** Rejects queued jobs and stops the workers and the decoder processes they are running. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('The HEIC conversion pool was closed'));
    await Promise.all(this.slots.splice(0).map((s) => stopAndTerminate(s.worker)));
  }
}

/** How long a worker gets to kill its decoder processes before it is terminated anyway. */
const STOP_TIMEOUT_MS = 1_000;

/** terminate() alone would leave a running ffmpeg or heif-convert behind: the worker kills them first. */
async function stopAndTerminate(worker: Worker): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
    worker.on('message', (message: StoppedMessage | ReplyMessage) => {
      if ('stopped' in message) {
        clearTimeout(timer);
        resolve();
      }
    });
    worker.postMessage({ stop: true } satisfies StopMessage);
  });
  await worker.terminate();
}
