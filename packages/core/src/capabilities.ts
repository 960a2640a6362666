/** What a sink can do, declared up front so the pipeline can plan before moving bytes (rclone `Features`). */

/** Hash names core knows; plugins may register more (see {@link registerHash}). */
export type HashName = 'sha256' | 'sha1' | 'md5' | 'quickXorHash' | (string & {});

export interface SinkCapabilities {
  /** Hashes the sink can report for stored bytes; may be empty (Google Photos). */
  readonly hashes: readonly HashName[];
  /** Can resume an interrupted upload from an offset. */
  readonly resumableUpload: boolean;
  /** Writes appear all at once (temp + rename) rather than growing in place. */
  readonly atomicWrite: boolean;
  /** Whether the service itself skips content it already has. */
  readonly serverSideDedupe: 'none' | 'by-hash' | 'by-name';
  /** Largest single resource accepted, in bytes. */
  readonly maxItemBytes?: number;
  /** Largest batch (e.g. one email) in bytes. */
  readonly maxBatchBytes?: number;
  /** How many `put` calls may run at once for this sink. */
  readonly maxConcurrency: number;
  /** Keeps the capture date (mtime, fileSystemInfo, EXIF…). */
  readonly preservesCaptureDate: boolean;
  /** Keeps a Live Photo's still and video together (same basename or one item). */
  readonly livePhotoPairs: boolean;
  /** Stored copies are off-site (cloud, or a folder the user marks `offsite: true`): for 3-2-1 audits. */
  readonly offsite: boolean;
  /** `verify` re-checks stored bytes or a service-reported hash; false = "unverifiable" after delivery. */
  readonly canVerify: boolean;
}

export function defineCapabilities(partial: Partial<SinkCapabilities>): SinkCapabilities {
  return Object.freeze({
    hashes: [],
    resumableUpload: false,
    atomicWrite: false,
    serverSideDedupe: 'none',
    maxConcurrency: 2,
    preservesCaptureDate: false,
    livePhotoPairs: false,
    offsite: false,
    canVerify: false,
    ...partial,
  });
}
