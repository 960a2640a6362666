/** Pool worker entry: converts one job at a time (see pool.ts for the protocol). */
import { parentPort } from 'node:worker_threads';
import { type ConvertJob, convertHeicFile } from './convert.js';

export interface JobMessage {
  id: number;
  job: ConvertJob;
}

export type ReplyMessage =
  | { id: number; ok: true; result: Awaited<ReturnType<typeof convertHeicFile>> }
  | { id: number; ok: false; error: { name: string; message: string } };

const port = parentPort;
if (!port) throw new Error('worker.ts must run as a worker thread');

port.on('message', async ({ id, job }: JobMessage) => {
  let reply: ReplyMessage;
  try {
    reply = { id, ok: true, result: await convertHeicFile(job) };
  } catch (err) {
    const e = err as Error;
    reply = { id, ok: false, error: { name: e?.name ?? 'Error', message: e?.message ?? String(err) } };
  }
  port.postMessage(reply);
});
