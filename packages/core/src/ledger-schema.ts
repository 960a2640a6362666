/**
 * Ledger schema migrations, applied in order; `PRAGMA user_version` records how many ran.
 * Never edit a shipped migration: append a new one.
 */
export const LEDGER_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    pipeline TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    report_json TEXT
  );
  CREATE TABLE hash_cache (
    source_key TEXT NOT NULL,
    item_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (source_key, item_key)
  ) WITHOUT ROWID;
  CREATE TABLE assets (
    asset_key TEXT PRIMARY KEY,
    source_key TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    captured_local TEXT,
    captured_offset TEXT,
    captured_source TEXT,
    bytes INTEGER NOT NULL,
    first_run INTEGER NOT NULL,
    last_run INTEGER NOT NULL,
    deleted_at TEXT
  );
  CREATE INDEX assets_by_source ON assets (source_key, asset_id);
  CREATE TABLE asset_resources (
    asset_key TEXT NOT NULL REFERENCES assets (asset_key) ON DELETE CASCADE,
    resource_key TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms REAL,
    sha256 TEXT,
    PRIMARY KEY (asset_key, resource_key)
  ) WITHOUT ROWID;
  CREATE INDEX asset_resources_by_size ON asset_resources (size);
  CREATE INDEX asset_resources_by_hash ON asset_resources (sha256);
  CREATE TABLE sinks (
    sink_key TEXT PRIMARY KEY,
    use TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    offsite INTEGER NOT NULL,
    can_verify INTEGER NOT NULL,
    last_run_id INTEGER
  );
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    asset_key TEXT NOT NULL REFERENCES assets (asset_key) ON DELETE CASCADE,
    sink_key TEXT NOT NULL,
    chain TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'verified', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    content_key TEXT,
    updated_at TEXT NOT NULL,
    verified_at TEXT,
    UNIQUE (asset_key, sink_key, chain)
  );
  CREATE INDEX deliveries_by_content ON deliveries (sink_key, chain, content_key);
  CREATE TABLE delivery_items (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    resource_key TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    remote_id TEXT,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    hashes_json TEXT NOT NULL,
    verified INTEGER NOT NULL,
    deduped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, resource_key)
  ) WITHOUT ROWID;
  CREATE INDEX delivery_items_by_hash ON delivery_items (sha256);
  CREATE TABLE delivery_resume (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    resource_key TEXT NOT NULL,
    state_json TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (delivery_id, resource_key)
  ) WITHOUT ROWID;
  CREATE TABLE deletions (
    id INTEGER PRIMARY KEY,
    asset_key TEXT NOT NULL,
    deleted_at TEXT NOT NULL,
    run_id INTEGER
  );
  `,
  `
  CREATE TABLE pipeline_sources (
    pipeline TEXT NOT NULL,
    source_key TEXT NOT NULL,
    last_run_id INTEGER,
    PRIMARY KEY (pipeline, source_key)
  );
  `,
  `
  ALTER TABLE delivery_items ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
  `,
  `
  CREATE TABLE pipeline_sinks (
    pipeline TEXT NOT NULL,
    sink_key TEXT NOT NULL,
    offsite INTEGER NOT NULL,
    PRIMARY KEY (pipeline, sink_key)
  );
  INSERT OR IGNORE INTO pipeline_sinks (pipeline, sink_key, offsite) SELECT pipeline, sink_key, offsite FROM sinks;
  `,
  `
  CREATE TABLE verified_copies (
    sha256 TEXT NOT NULL,
    sink_key TEXT NOT NULL,
    PRIMARY KEY (sha256, sink_key)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO verified_copies (sha256, sink_key)
    SELECT i.sha256, d.sink_key FROM delivery_items i JOIN deliveries d ON d.id = i.delivery_id
    WHERE i.verified = 1 AND d.state = 'verified' AND i.sha256 <> '';
  `,
  `
  -- one importing process at a time (run-lock.ts): at most one row
  CREATE TABLE run_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    token TEXT NOT NULL
  );
  `,
];
