import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The real sample files (`shared/fixtures/real`, read-only, see its SOURCES.md): KEEPSAKE_FIXTURES_DIR,
 * else the nearest `shared/fixtures/real` or `../shared/fixtures/real` above this folder.
 */
export function realFixturesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KEEPSAKE_FIXTURES_DIR) return env.KEEPSAKE_FIXTURES_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    for (const candidate of [join(dir, 'shared/fixtures/real'), join(dir, '../shared/fixtures/real')]) {
      if (existsSync(join(candidate, 'SHA256SUMS'))) return resolve(candidate);
    }
    dir = dirname(dir);
  }
  throw new Error('Cannot find shared/fixtures/real (the real sample photos); set KEEPSAKE_FIXTURES_DIR');
}
