import { open } from 'node:fs/promises';

/**
 * Shares fsyncs between callers (group commit). Each caller's promise settles only after a sync
 * of its key that *started* after the call, so it covers every change (rename) the caller made
 * before calling — exactly what a private fsync guarantees. Callers that arrive while one runs
 * share the next one: N files renamed into a folder at about the same time cost ~2 folder fsyncs
 * (journal commits) instead of N.
 */
export function groupCommit(syncOne: (key: string) => Promise<void>): (key: string) => Promise<void> {
  interface Group {
    running?: Promise<void>;
    queued?: Promise<void>;
  }
  const groups = new Map<string, Group>();
  const start = (key: string, g: Group): Promise<void> => {
    const p: Promise<void> = syncOne(key).finally(() => {
      if (g.running === p) g.running = undefined;
      if (!g.running && !g.queued && groups.get(key) === g) groups.delete(key);
    });
    g.running = p;
    return p;
  };
  return (key) => {
    let g = groups.get(key);
    if (!g) {
      g = {};
      groups.set(key, g);
    }
    const running = g.running;
    if (!running) return start(key, g);
    // the running sync may have begun before the caller's change: wait for the next one
    const group = g;
    const next = () => {
      group.queued = undefined;
      return start(key, group);
    };
    group.queued ??= running.then(next, next);
    return group.queued;
  };
}

/** fsync of a folder, so renames into it survive a crash; shared by concurrent callers. */
export const syncDir = groupCommit(fsyncDir);

async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync on Windows
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // some filesystems (network mounts) refuse fsync on directories; the file itself was synced
  } finally {
    await fh.close().catch(() => {});
  }
}
