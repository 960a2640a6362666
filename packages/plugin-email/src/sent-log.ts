import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Resource, StoredResource } from '@keepsake/core';

interface SentEntry {
  resourceKey: string;
  sha256: string;
  size: number;
  messageId: string;
  location: string;
  name: string;
  at: string;
}

/**
 * Which resources this sink already got a 250 for, kept in the plugin's storage folder. Email
 * cannot be verified, so core's ledger leaves such deliveries "delivered" rather than "verified"
 * and offers them again on the next run; this log lets the sink answer "already sent" instead of
 * mailing the same photo twice. Keyed by resource key + SHA-256, so changed bytes are sent again.
 */
export class SentLog {
  private entries: Promise<Map<string, SentEntry>> | undefined;
  private readonly file: string;

  constructor(storageDir: string, sinkKey: string) {
    this.file = join(storageDir, `email-sent-${createHash('sha256').update(sinkKey).digest('hex').slice(0, 16)}.jsonl`);
  }

  /** Receipt items for an asset whose every resource was sent before with the same bytes; else undefined. */
  async lookup(resources: readonly Resource[]): Promise<StoredResource[] | undefined> {
    const map = await this.load();
    const items: StoredResource[] = [];
    for (const r of resources) {
      if (!r.sha256) return undefined;
      const e = map.get(entryKey(r.key, r.sha256));
      if (!e || (r.size !== undefined && e.size !== r.size)) return undefined;
      items.push({ resourceKey: r.key, role: r.role, name: r.name, location: e.location, remoteId: e.messageId, size: e.size, hashes: { sha256: e.sha256 }, verified: false, deduped: true });
    }
    return items.length ? items : undefined;
  }

  async record(items: readonly StoredResource[]): Promise<void> {
    const map = await this.load();
    const lines = items.map((i) => {
      const e: SentEntry = { resourceKey: i.resourceKey, sha256: i.hashes.sha256, size: i.size, messageId: i.remoteId ?? '', location: i.location, name: i.name, at: new Date().toISOString() };
      map.set(entryKey(e.resourceKey, e.sha256), e);
      return JSON.stringify(e);
    });
    await mkdir(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${lines.join('\n')}\n`);
  }

  private load(): Promise<Map<string, SentEntry>> {
    this.entries ??= readFile(this.file, 'utf8').then(
      (text) => {
        const map = new Map<string, SentEntry>();
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          try {
            const e = JSON.parse(line) as SentEntry;
            map.set(entryKey(e.resourceKey, e.sha256), e);
          } catch {
            // a line cut by a crash: that message is simply not remembered
          }
        }
        return map;
      },
      () => new Map(),
    );
    return this.entries;
  }
}

function entryKey(resourceKey: string, sha256: string): string {
  return `${resourceKey}\u0000${sha256}`;
}
