import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface TreeEntry {
  path: string;
  size: number;
  sha256: string;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file under `root` (hidden ones too: partial files must be seen), sorted by path. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}

/** Relative path → size and sha256 for every file under `root`. */
export async function hashTree(root: string): Promise<Map<string, TreeEntry>> {
  const m = new Map<string, TreeEntry>();
  for (const p of await listFiles(root)) {
    const rel = relative(root, p);
    m.set(rel, { path: rel, size: (await stat(p)).size, sha256: await sha256File(p) });
  }
  return m;
}

/** sha256 → relative paths, for "every source file arrived exactly once" checks. */
export function byHash(tree: Map<string, TreeEntry>): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const e of tree.values()) m.set(e.sha256, [...(m.get(e.sha256) ?? []), e.path]);
  return m;
}
