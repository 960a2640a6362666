import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { type RandomAccess, withFile } from './random-access.js';

/**
 * Real sample files shared with the project (read-only): `shared/` sits beside the repository
 * checkout, locally and in CI. KEEPSAKE_FIXTURES overrides.
 */
export const FIXTURES = process.env.KEEPSAKE_FIXTURES ?? fileURLToPath(new URL('../../../../shared/fixtures/real', import.meta.url));

export function fixture(rel: string): string {
  return join(FIXTURES, rel);
}

export function withFixture<T>(rel: string, fn: (ra: RandomAccess) => Promise<T>): Promise<T> {
  return withFile(fixture(rel), fn);
}
