/** Shared by the cloud benchmarks: start the fake in a child process, build a signed-in sink. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const root = new URL('../../', import.meta.url).pathname;
export const onedrive = await import(join(root, 'packages/plugin-onedrive/dist/index.js'));
export const core = await import(join(root, 'packages/plugin-onedrive/node_modules/@keepsake/core/dist/index.js'));
export const cloud = await import(join(root, 'packages/plugin-onedrive/node_modules/@keepsake/transport-cloud/dist/index.js'));

export interface FakeProcess {
  url: string;
  endpoint: string;
  stop(): Promise<{ stats: Record<string, number>; files: number; maxRssMiB: number }>;
}

export async function startFakeProcess(bps: number, latencyMs: number): Promise<FakeProcess & { tokens: Record<string, unknown> }> {
  const child = spawn(process.execPath, [join(root, 'bench/cloud/fake-server.ts'), '--bps', String(bps), '--latency', String(latencyMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Never leave the fake running behind a crashed benchmark.
  process.on('exit', () => child.kill());
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = JSON.parse((await lines.next()).value as string);
  return {
    ...first,
    async stop() {
      child.kill('SIGTERM');
      return JSON.parse((await lines.next()).value as string);
    },
  };
}

/** A sink signed in to the fake, with its secrets in a temp dir. */
export async function signedInSink(fake: { url: string; endpoint: string; tokens: Record<string, unknown> }, options: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ks-bench-cloud-'));
  const secrets = core.createFileSecretStore(join(dir, 'secrets.json'));
  const sinkOptions = { clientId: 'bench', endpoint: fake.endpoint, authority: fake.url, ...options };
  await cloud.createTokenStore(secrets, `keepsake:onedrive:bench@${fake.url}/consumers`).save(cloud.tokenSetFrom(fake.tokens));
  const fctx = { logger: core.silentLogger, secrets, storageDir: dir, configDir: dir, signal: new AbortController().signal, env: { KEEPSAKE_SECRET_STORE: 'file' } };
  const sink = await onedrive.createOneDriveSink(sinkOptions, fctx);
  return {
    sink,
    async close() {
      await sink.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A resource of `size` bytes made by repeating one random block with its offset stamped in, so every file differs. */
export function generatedResource(name: string, size: number, block: Uint8Array) {
  return {
    role: 'original',
    name,
    key: `bench/${name}`,
    size,
    mtimeMs: Date.now(),
    mediaType: 'video/quicktime',
    open: ({ offset = 0 } = {}) =>
      (async function* () {
        for (let at = offset; at < size; at += block.length) {
          const chunk = block.slice(0, Math.min(block.length, size - at));
          if (chunk.length >= 8) new DataView(chunk.buffer, chunk.byteOffset, 8).setFloat64(0, at + name.length * 1e12, true);
          yield chunk;
        }
      })(),
  };
}

export function putContext() {
  const data = new Map<string, unknown>();
  return {
    signal: new AbortController().signal,
    logger: core.silentLogger,
    tempDir: tmpdir(),
    onProgress() {},
    resume: { load: (k: string) => data.get(k), save: (k: string, v: unknown) => void data.set(k, v), clear: (k: string) => void data.delete(k) },
  };
}

export const MiB = 1024 * 1024;
