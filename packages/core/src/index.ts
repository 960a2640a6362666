/**
 * @keepsake/core — the public API. Plugins import only from here.
 * @packageDocumentation
 */
export * from './asset.js';
export * from './capabilities.js';
export * from './config.js';
export * from './errors.js';
export * from './events.js';
export * from './fs-atomic.js';
export * from './hash.js';
export * from './logger.js';
export * from './manifest.js';
export * from './naming.js';
export * from './paths.js';
export * from './plugin.js';
export * from './retry.js';
export * from './secrets.js';
export * from './sink.js';
export * from './source.js';
export * from './transform.js';
export * from './ledger.js';
export * from './run-lock.js';
export * from './options.js';
export * from './pipeline.js';
export * from './plugin-host.js';
export * from './semver-range.js';
export * from './version.js';
export { assetKeyOf, contentKeyOf } from './internal/identity.js';
