import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileSecretStore } from './secrets.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('file secret store', () => {
  it('keeps every value when several are saved at once (two sinks refreshing tokens together)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
    made.push(dir);
    const file = join(dir, 'cfg', 'secrets.json');
    // two store objects on one file, as two plugins get them
    const a = createFileSecretStore(file);
    const b = createFileSecretStore(file);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).set(`token-${i}`, `value-${i}`)));
    for (let i = 0; i < 20; i++) expect(await a.get(`token-${i}`)).toBe(`value-${i}`);
    await Promise.all([a.delete('token-1'), b.set('token-1', 'again'), a.delete('token-2')]);
    expect(await b.get('token-1')).toBe('again');
    expect(await b.get('token-2')).toBeUndefined();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'cfg'))).toEqual(['secrets.json']); // no temp file left behind
  });
});
