import type { Asset } from './asset.js';
import type { Logger } from './logger.js';

export interface TransformContext {
  signal: AbortSignal;
  logger: Logger;
  /** A folder the transform may use for temp files during this run (removed at the end). */
  tempDir: string;
}

/**
 * A pure function of an asset to an asset: adds or replaces resources. Runs lazily — a derived
 * resource's `open` does the work when a sink reads it, streaming.
 */
export interface Transform {
  /** Contribution id, e.g. `heic-to-jpeg`. */
  readonly id: string;
  /**
   * Changes whenever the output for the same input changes (code or options). Goes into the
   * ledger's transform-chain version, so a rerun converts nothing unless this changes.
   */
  readonly version: string;
  /**
   * Returns the transformed asset (never mutate the input). Assets the transform does not apply
   * to are returned unchanged. Problems that should not stop delivery of the other resources
   * become `diagnostics`; throwing fails this asset for this sink.
   */
  apply(asset: Asset, ctx: TransformContext): Promise<Asset> | Asset;
  close?(): Promise<void>;
}
