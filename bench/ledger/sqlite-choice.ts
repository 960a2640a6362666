// Chooses the ledger's SQLite binding by measurement: node:sqlite (built in) vs better-sqlite3
// (native). Runs the ledger's hot statements — hash-cache upserts in a transaction and
// point lookups by key — over 100k rows on a WAL database on disk.
// Usage: node bench/ledger/sqlite-choice.ts [path-to-a-folder-with-better-sqlite3-installed]
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const N = 100_000;
type Db = { exec(sql: string): void; prepare(sql: string): { run(...a: unknown[]): unknown; get(...a: unknown[]): unknown } };

function bench(name: string, db: Db) {
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  db.exec('CREATE TABLE hash_cache (source_key TEXT, item_key TEXT, size INTEGER, mtime_ms REAL, sha256 TEXT, PRIMARY KEY (source_key, item_key)) WITHOUT ROWID');
  const ins = db.prepare('INSERT INTO hash_cache VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET sha256 = excluded.sha256');
  const sel = db.prepare('SELECT size, mtime_ms, sha256 FROM hash_cache WHERE source_key = ? AND item_key = ?');
  let t = performance.now();
  db.exec('BEGIN');
  for (let i = 0; i < N; i++) ins.run('iphone:00008030', `DCIM/100APPLE/IMG_${i}.HEIC`, 1_000_000 + i, 1.7e12 + i, 'ab'.repeat(32));
  db.exec('COMMIT');
  const insertMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < N; i++) sel.get('iphone:00008030', `DCIM/100APPLE/IMG_${i}.HEIC`);
  const selectMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < 2000; i++) ins.run('iphone:00008030', `x/${i}`, i, i, 'cd'.repeat(32)); // autocommit writes
  const autocommitMs = performance.now() - t;
  console.log(`${name.padEnd(16)} insert ${N} in tx: ${insertMs.toFixed(0)} ms · ${N} lookups: ${selectMs.toFixed(0)} ms (${((selectMs * 1000) / N).toFixed(2)} µs each) · 2000 autocommit writes: ${autocommitMs.toFixed(0)} ms`);
}

const dir = mkdtempSync(join(tmpdir(), 'sqlite-choice-'));
const { DatabaseSync } = await import('node:sqlite');
bench('node:sqlite', new DatabaseSync(join(dir, 'a.sqlite')) as unknown as Db);
const where = process.argv[2];
if (where) {
  const Better = createRequire(join(where, 'package.json'))('better-sqlite3') as new (p: string) => Db;
  bench('better-sqlite3', new Better(join(dir, 'b.sqlite')));
} else console.log('(pass a folder where better-sqlite3 is installed to compare)');
