import type { Asset } from './asset.js';
import type { Logger } from './logger.js';

export interface ScanContext {
  signal: AbortSignal;
  logger: Logger;
  /** Report how many assets (and bytes) the scan will yield, when known, for progress and ETA. */
  reportTotals(totals: { assets?: number; bytes?: number }): void;
}

export interface SourceCapabilities {
  /**
   * Reading bytes is slow or costly (USB, network): the pipeline spools each new resource to a temp
   * file while hashing so sinks do not read it from the device a second time.
   */
  readonly expensiveReads: boolean;
  /** `delete` removes items from the source (for `keepsake prune`). */
  readonly canDelete: boolean;
  /**
   * When `canDelete` is false: why, in plain words, and what the user can do instead. `prune`
   * prints it next to the list of items that are safe to delete by hand.
   */
  readonly deleteNote?: string;
}

/** Where assets come from: a folder, an iPhone, a backup. */
export interface Source {
  /**
   * Identifies this source in the ledger (e.g. `folder:/media/sd/DCIM`, `iphone:<udid>`). Must be
   * stable across runs: the hash cache and prune records are keyed by it.
   */
  readonly key: string;
  readonly capabilities: SourceCapabilities;
  /**
   * Yields every asset. Metadata only: bytes are read later through `Resource.open`. Must honour
   * `ctx.signal`. A problem with one item should be yielded as an asset with an `error` diagnostic
   * (that item fails, its other resources are still delivered) — throwing ends the scan and stops
   * the run as fatal (`stoppedBy` in the report).
   */
  scan(ctx: ScanContext): AsyncIterable<Asset>;
  /**
   * Deletes the asset's resources from the source. Only called by `prune` after every resource
   * has enough verified copies. Throws a KeepsakeError with code `NOT_SUPPORTED` when a safe
   * deletion is impossible here.
   */
  delete?(asset: Asset, ctx: { signal: AbortSignal; logger: Logger }): Promise<void>;
  /** Releases connections. Awaited. */
  close?(): Promise<void>;
}
