/**
 * @keepsake/safety — is every photo safe in enough places? `verify` re-checks stored copies,
 * `status` audits 3-2-1 (JSON and a self-contained HTML page), `prune` frees the source only when
 * every part of an asset has enough verified copies.
 * @packageDocumentation
 */
export * from './configured-sinks.js';
export * from './duration.js';
export * from './prune.js';
export * from './report-html.js';
export * from './same-disk.js';
export * from './status.js';
export * from './verify.js';
