/** Pool worker entry: converts one job at a time (see pool.ts for the protocol). */
import { parentPort } from 'node:worker_threads';
import { stopChildren } from './child-stop.js';
import { type ConvertJob, convertHeicFile } from './convert.js';

export interface JobMessage {
  id: number;
  job: ConvertJob;
}

/** Sent by the pool before it terminates the worker: kill the decoder processes, then say so. */
export interface StopMessage {
  stop: true;
}

export interface StoppedMessage {
  stopped: true;
}

export type ReplyMessage =
  | { id: number; ok: true; result: Awaited<ReturnType<typeof convertHeicFile>> }
  | { id: number; ok: false; error: { name: string; message: string } };

const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker thread');

/** The job in progress; on stop, its killed processes are waited for, so none is left a zombie. */
let current: Promise<unknown> | undefined;

port.on('message', async (message: JobMessage | StopMessage) => {
  if ('stop' in message) {
    stopChildren();
    await current?.catch(() => {});
    port.postMessage({ stopped: true } satisfies StoppedMessage);
    return;
  }
  const { id, job } = message;
  let reply: ReplyMessage;
  try {
    const converting = convertHeicFile(job);
    current = converting;
    reply = { id, ok: true, result: await converting };
  } catch (err) {
    const e = err as Error;
    reply = { id, ok: false, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) } };
  }
  port.postMessage(reply);
});
