import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Semaphore } from './internal/semaphore.js';
import { configDir } from './paths.js';

/**
 * Where tokens and passwords live — never in the pipeline config or logs. Plugins (transport-cloud)
 * may provide an OS-keychain-backed store; core ships the file store used when none is available.
 */
export interface SecretStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Human description for messages ("file ~/.config/keepsake/secrets.json (0600)"). */
  readonly description: string;
}

/** One writer at a time per secrets file in this process: each change reads, changes and replaces the whole file. */
const writers = new Map<string, Semaphore>();

/** Runs `change` after every earlier change to `file` in this process, so none is lost. */
async function serialized<T>(file: string, change: () => Promise<T>): Promise<T> {
  let writer = writers.get(file);
  if (!writer) {
    writer = new Semaphore(1);
    writers.set(file, writer);
  }
  const release = await writer.acquire();
  try {
    return await change();
  } finally {
    release();
  }
}

/**
 * A JSON file readable only by the user (0600), in the user's config dir by default. Changes in
 * one process are applied one at a time (two sinks refreshing tokens at once each rewrite the whole
 * file: the second must start from the first one's result, or a rotated refresh token is lost).
 */
export function createFileSecretStore(file = join(configDir(), 'secrets.json')): SecretStore {
  const load = async (): Promise<Record<string, string>> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  };
  const save = async (data: Record<string, string>) => {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(data, null, 2), { mode: 0o600, flag: 'wx' });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  };
  return {
    description: `file ${file} (mode 0600)`,
    async get(key) {
      return (await load())[key];
    },
    set(key, value) {
      return serialized(file, async () => {
        const data = await load();
        data[key] = value;
        await save(data);
      });
    },
    delete(key) {
      return serialized(file, async () => {
        const data = await load();
        if (!(key in data)) return;
        delete data[key];
        if (Object.keys(data).length === 0) await rm(file, { force: true });
        else await save(data);
      });
    },
  };
}
