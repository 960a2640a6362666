import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConversionPool, defaultWorkerUrl, WorkerJobError } from './pool.js';
import { FIXTURES } from './test-helpers.test-helper.js';

const dir = mkdtempSync(join(tmpdir(), 'keepsake-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const job = (input: string, i: number) => ({ input, output: join(dir, `${i}.jpg`), quality: 80, decoder: 'wasm' as const, workDir: join(dir, `w${i}`) });

describe('ConversionPool', () => {
  it('queues more jobs than workers, replaces workers after their quota, and reports worker errors per job', async () => {
    const pool = new ConversionPool(1, defaultWorkerUrl(), 2);
    const notHeic = join(dir, 'not.heic');
    writeFileSync(notHeic, 'this is not a HEIC file');
    const small = `${FIXTURES}/motion-photo/sample_MP.heic`;
    const results = await Promise.allSettled([job(small, 1), job(notHeic, 2), job(small, 3), job(small, 4)].map((j) => pool.run(j)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const failure = (results[1] as PromiseRejectedResult).reason;
    expect(failure).toBeInstanceOf(WorkerJobError);
    expect(failure.remoteName).toBe('HeicDecodeError');
    expect((results[3] as PromiseFulfilledResult<{ width: number; height: number }>).value).toMatchObject({ width: 1080, height: 1920 });
    await pool.close();
    await expect(pool.run(job(small, 5))).rejects.toThrow(/closed/);
  });

  it('kills the decoder process a worker is running when the pool closes (terminating the thread alone would not)', async () => {
    const pidFile = join(dir, 'ffmpeg.pid');
    // A stand-in ffmpeg that never finishes; `exec` keeps the pid that keepsake spawned.
    const stuck = join(dir, 'stuck-ffmpeg');
    writeFileSync(stuck, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 60\n`);
    chmodSync(stuck, 0o755);
    const pool = new ConversionPool(1);
    const running = pool.run({ ...job(`${FIXTURES}/motion-photo/sample_MP.heic`, 6), decoder: 'ffmpeg', ffmpeg: stuck }).catch((err: Error) => err);
    const started = Date.now();
    while (!existsSync(pidFile) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(true);
    await pool.close();
    await expect(running).resolves.toBeInstanceOf(Error);
    const stopped = Date.now();
    while (isAlive(pid) && Date.now() - stopped < 2_000) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(pid)).toBe(false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
