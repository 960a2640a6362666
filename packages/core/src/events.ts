import type { KeepsakeError } from './errors.js';
import type { Diagnostic } from './asset.js';
import type { Receipt } from './sink.js';

/** `planned`: a dry run found this (asset, sink) would be copied. */
export type ItemOutcome = 'copied' | 'skipped' | 'deduped' | 'planned';

export interface RunReport {
  pipeline: string;
  runId: number;
  startedAt: string;
  endedAt: string;
  aborted: boolean;
  dryRun: boolean;
  /** Stopped early on a fatal error (quota, auth…): its description. */
  stoppedBy?: ReturnType<KeepsakeError['toJSON']>;
  assets: number;
  /** Per (asset, sink): newly stored. */
  copied: number;
  /** Per (asset, sink): already verified in the ledger (no bytes read). */
  skipped: number;
  /** Per (asset, sink): content already at the destination. */
  deduped: number;
  /** Dry run: (asset, sink) pairs that would be copied. */
  planned: number;
  failed: number;
  bytesCopied: number;
  failures: { assetId: string; sink?: string; error: ReturnType<KeepsakeError['toJSON']> }[];
  diagnostics: { assetId: string; diagnostic: Diagnostic }[];
}

export type PipelineEvent =
  | { type: 'run-start'; pipeline: string; runId: number; sinks: string[] }
  | { type: 'totals'; assets?: number; bytes?: number }
  | { type: 'asset-start'; assetId: string; bytes: number }
  | { type: 'progress'; assetId: string; sink?: string; bytes: number }
  | { type: 'item-done'; assetId: string; sink: string; outcome: ItemOutcome; bytes: number; receipt?: Receipt }
  | { type: 'item-failed'; assetId: string; sink?: string; error: KeepsakeError }
  /** `sink` is absent when the retried step is reading the source (hashing, spooling a USB read). */
  | { type: 'retry'; assetId: string; sink?: string; attempt: number; delayMs: number; error: KeepsakeError }
  | { type: 'diagnostic'; assetId: string; diagnostic: Diagnostic }
  | { type: 'asset-end'; assetId: string }
  | { type: 'run-end'; report: RunReport };

export type PipelineEventListener = (event: PipelineEvent) => void;
