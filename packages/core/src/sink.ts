import type { Asset, Resource, ResourceRole } from './asset.js';
import { sha256Of } from './hash.js';
import type { HashName, SinkCapabilities } from './capabilities.js';
import type { Logger } from './logger.js';

/** What a sink stored for one resource of an asset. */
export interface StoredResource {
  /** `Resource.key` of what was stored. */
  resourceKey: string;
  role: ResourceRole;
  /** Name of the resource as given to the sink. */
  name: string;
  /** Where it went: a path relative to the sink root, a remote path or URL. */
  location: string;
  /** Service id (OneDrive item id, Google media item id). */
  remoteId?: string;
  size: number;
  /**
   * Hashes of the bytes the sink sent/wrote, computed while streaming. `sha256` is required: the
   * pipeline compares it with the source's hash. Others (quickXorHash…) are for later `verify`.
   */
  hashes: { sha256: string } & Partial<Record<HashName, string>>;
  /**
   * The destination confirmed what it stores equals what was sent (read-back hash, or a
   * service-reported hash/id). False means "delivered, not verifiable".
   */
  verified: boolean;
  /** Already present with identical content; nothing was written. */
  deduped?: boolean;
  /**
   * The sink deliberately does not store this resource (e.g. `.AAE` edit sidecars in Google
   * Photos). Never counts as a copy (`verified` is ignored); the rest of the asset is delivered.
   */
  skipped?: boolean;
}

export interface Receipt {
  items: StoredResource[];
}

/** Resumable-upload state the ledger keeps per (asset, sink, resource), e.g. a session URL + offset. */
export interface ResumeStore {
  load<T = unknown>(resourceKey: string): T | undefined;
  save(resourceKey: string, state: unknown): void;
  clear(resourceKey: string): void;
}

export interface PutContext {
  signal: AbortSignal;
  logger: Logger;
  resume: ResumeStore;
  /** Bytes sent so far for progress bars (deltas). */
  onProgress(bytes: number): void;
  /** A folder for temp files during this run. */
  tempDir: string;
}

export type VerifyStatus = 'ok' | 'missing' | 'corrupt' | 'unverifiable';

export interface VerifyResult {
  status: VerifyStatus;
  detail?: string;
  /** Hash found at the destination now, when one could be read. */
  actual?: Partial<Record<HashName, string>>;
}

/** Where assets go: a folder, a cloud service, an inbox. */
export interface Sink {
  /**
   * Identifies the destination in the ledger (`folder:/mnt/nas/photos`, `onedrive:<drive id>`).
   * Must be stable across runs and not change with cosmetic options, or everything is re-sent.
   */
  readonly key: string;
  readonly capabilities: SinkCapabilities;
  /**
   * Stores every resource of the asset and returns what went where.
   *
   * Contract: idempotent — putting the same asset twice stores it once. Never overwrites different
   * content (pick another name). Atomic per resource: on failure or abort nothing partial stays
   * visible. Hashes computed while streaming. Honour `ctx.signal`. Throw KeepsakeErrors
   * (`SinkError.*`): `retryable` ones are retried by the pipeline with backoff.
   */
  put(asset: Asset, ctx: PutContext): Promise<Receipt>;
  /**
   * For batching sinks (email, Google Photos batchCreate): called when the pipeline has nothing
   * more to give right now — the source is exhausted, or every in-flight asset is only waiting on
   * batching sinks. Pending `put` promises must settle after a flush.
   */
  flush?(ctx: { signal: AbortSignal; logger: Logger }): Promise<void>;
  /** Re-checks one stored resource now. Sinks that cannot must return `unverifiable`. */
  verify?(item: StoredResource, ctx: { signal: AbortSignal; logger: Logger }): Promise<VerifyResult>;
  /**
   * Moves a stored copy that `verify` found corrupt out of the way (a folder sink renames it to
   * `<name>.corrupt-<timestamp>`), so `verify --repair` can deliver a good copy under the original
   * name. Must never destroy data; only called for items the ledger says keepsake delivered.
   */
  discard?(item: StoredResource, ctx: { signal: AbortSignal; logger: Logger }): Promise<void>;
  close?(): Promise<void>;
}

/**
 * The receipt item for a resource a sink deliberately does not store (an `.AAE` sidecar in a
 * photo service). Hashes the (small) resource so the ledger still knows its content; `skipped`
 * items never count as copies.
 */
export async function skippedItem(r: Resource, reason: string, signal: AbortSignal): Promise<StoredResource> {
  const { sha256, bytes } = await sha256Of(r.open({ signal }));
  return { resourceKey: r.key, role: r.role, name: r.name, location: `skipped:${reason}`, size: bytes, hashes: { sha256 }, verified: false, skipped: true };
}
