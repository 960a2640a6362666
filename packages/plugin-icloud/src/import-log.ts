import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

interface ImportEntry {
  resourceKey: string;
  sha256: string;
  photosId: string;
  at: string;
}

/**
 * What Photos.app already imported, kept in the plugin's storage folder. A Photos import cannot be
 * verified, so core's ledger leaves it "delivered" and offers the asset again on the next run;
 * with `skip check duplicates` on, importing again would make a duplicate. This log answers
 * "already imported" instead. Keyed by resource key + SHA-256, so changed bytes are imported again.
 */
export class ImportLog {
  private entries: Promise<Map<string, ImportEntry>> | undefined;
  private readonly file: string;

  constructor(storageDir: string, library: string) {
    this.file = join(storageDir, `photos-imported-${createHash('sha256').update(library).digest('hex').slice(0, 16)}.jsonl`);
  }

  /** Photos ids for these resources when every one was imported before with the same bytes. */
  async lookup(items: readonly { resourceKey: string; sha256: string }[]): Promise<string[] | undefined> {
    const map = await this.load();
    const ids: string[] = [];
    for (const i of items) {
      const e = map.get(`${i.resourceKey}\u0000${i.sha256}`);
      if (!e) return undefined;
      ids.push(e.photosId);
    }
    return ids.length ? ids : undefined;
  }

  async record(items: readonly { resourceKey: string; sha256: string; photosId: string }[]): Promise<void> {
    const map = await this.load();
    const at = new Date().toISOString();
    const lines = items.map((i) => {
      const e: ImportEntry = { ...i, at };
      map.set(`${i.resourceKey}\u0000${i.sha256}`, e);
      return JSON.stringify(e);
    });
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${lines.join('\n')}\n`);
  }

  private load(): Promise<Map<string, ImportEntry>> {
    this.entries ??= readFile(this.file, 'utf8').then(
      (text) => {
        const map = new Map<string, ImportEntry>();
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          try {
            const e = JSON.parse(line) as ImportEntry;
            map.set(`${e.resourceKey}\u0000${e.sha256}`, e);
          } catch {
            // a line cut by a crash
          }
        }
        return map;
      },
      () => new Map(),
    );
    return this.entries;
  }
}
