import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
});
