import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root for e2e scratch folders (git-ignored `test/.work`), so a failed run can be inspected. */
export const WORK_ROOT = fileURLToPath(new URL('../.work/', import.meta.url));

/** A fresh scratch folder per call; `cleanup()` removes every folder made through this handle. */
export function tempDirs(): { make(prefix?: string): Promise<string>; cleanup(): Promise<void> } {
  const made: string[] = [];
  return {
    async make(prefix = 'e2e-') {
      await mkdir(WORK_ROOT, { recursive: true });
      const d = await mkdtemp(join(WORK_ROOT, prefix));
      made.push(d);
      return d;
    },
    async cleanup() {
      if (process.env.KEEPSAKE_KEEP_WORK) return;
      for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}
