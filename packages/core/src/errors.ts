/**
 * Typed errors with stable, searchable codes.
 *
 * Every error that reaches a user says what failed, on which item, and what to do next:
 * `message` is the what, `context` the where, `hint` the what-to-do.
 */

/** Codes owned by core. Plugins add their own (`DEVICE_LOCKED`, `ONEDRIVE_…`) as plain strings. */
export type CoreErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'PIPELINE_NOT_FOUND'
  | 'OPTION_INVALID'
  | 'PLUGIN_NOT_FOUND'
  | 'PLUGIN_INCOMPATIBLE'
  | 'PLUGIN_MANIFEST_INVALID'
  | 'PLUGIN_ACTIVATION_FAILED'
  | 'PLUGIN_ERROR'
  | 'SOURCE_READ_FAILED'
  | 'SOURCE_ITEM_VANISHED'
  | 'SOURCE_ITEM_CHANGED'
  | 'SOURCE_ITEM_TRUNCATED'
  | 'SOURCE_ITEM_INCOMPLETE'
  | 'SINK_WRITE_FAILED'
  | 'SINK_NOT_FOUND'
  | 'SINK_ALREADY_EXISTS'
  | 'VERIFY_MISMATCH'
  | 'NAME_UNSAFE'
  | 'TOO_LARGE'
  | 'AUTH_REQUIRED'
  | 'QUOTA_EXHAUSTED'
  | 'RATE_LIMITED'
  | 'NOT_SUPPORTED'
  | 'TRANSFORM_FAILED'
  | 'LEDGER_ERROR'
  | 'LEDGER_BUSY'
  | 'TIMEOUT'
  | 'ABORTED';

/** How the pipeline treats an error: retry the call, fail this item and go on, or stop the run. */
export type ErrorClass = 'retryable' | 'permanent' | 'fatal';

/** Where in a run an error happened. */
export type Stage = 'config' | 'plugin' | 'scan' | 'hash' | 'transform' | 'put' | 'verify' | 'delete' | 'ledger';

export interface ErrorContext {
  plugin?: string;
  contribution?: string;
  stage?: Stage;
  assetId?: string;
  resource?: string;
  /** A file path, URL or option path the error is about. */
  location?: string;
}

export interface KeepsakeErrorOptions extends ErrorContext {
  /** What the user can do about it, in plain words. */
  hint?: string;
  cause?: unknown;
  classification?: ErrorClass;
  retryAfterMs?: number;
  /** Code a plugin used before the host wrapped it (see {@link wrapPluginError}). */
  pluginCode?: string;
}

export class KeepsakeError extends Error {
  override readonly name: string = 'KeepsakeError';
  readonly code: CoreErrorCode | (string & {});
  readonly hint: string | undefined;
  readonly classification: ErrorClass;
  readonly retryAfterMs: number | undefined;
  readonly pluginCode: string | undefined;
  readonly context: ErrorContext;

  constructor(code: CoreErrorCode | (string & {}), message: string, options: KeepsakeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.classification = options.classification ?? defaultClass(code);
    this.retryAfterMs = options.retryAfterMs;
    this.pluginCode = options.pluginCode;
    const { plugin, contribution, stage, assetId, resource, location } = options;
    this.context = stripUndefined({ plugin, contribution, stage, assetId, resource, location });
  }

  /** A copy with more context; existing fields win so the innermost (most precise) context is kept. */
  withContext(extra: ErrorContext): KeepsakeError {
    const copy = new KeepsakeError(this.code, this.message, {
      ...extra,
      ...this.context,
      hint: this.hint,
      cause: this.cause,
      classification: this.classification,
      retryAfterMs: this.retryAfterMs,
      pluginCode: this.pluginCode,
    });
    copy.stack = this.stack;
    return copy;
  }

  /** One line for logs and reports: `CODE: message (asset …) — hint`. */
  describe(): string {
    const where = [this.context.assetId && `asset ${this.context.assetId}`, this.context.resource, this.context.location]
      .filter(Boolean)
      .join(', ');
    return `${this.code}: ${this.message}${where ? ` (${where})` : ''}${this.hint ? ` — ${this.hint}` : ''}`;
  }

  toJSON(): Record<string, unknown> {
    return stripUndefined({
      code: this.code,
      message: this.message,
      hint: this.hint,
      classification: this.classification,
      pluginCode: this.pluginCode,
      retryAfterMs: this.retryAfterMs,
      ...this.context,
      cause: this.cause instanceof Error ? this.cause.message : this.cause === undefined ? undefined : String(this.cause),
    });
  }
}

function defaultClass(code: string): ErrorClass {
  switch (code) {
    case 'RATE_LIMITED':
    case 'TIMEOUT':
      return 'retryable';
    case 'CONFIG_NOT_FOUND':
    case 'CONFIG_INVALID':
    case 'PIPELINE_NOT_FOUND':
    case 'OPTION_INVALID':
    case 'PLUGIN_NOT_FOUND':
    case 'PLUGIN_INCOMPATIBLE':
    case 'PLUGIN_MANIFEST_INVALID':
    case 'PLUGIN_ACTIVATION_FAILED':
    case 'LEDGER_ERROR':
    case 'LEDGER_BUSY':
    case 'AUTH_REQUIRED':
    case 'QUOTA_EXHAUSTED':
    case 'ABORTED':
      return 'fatal';
    default:
      return 'permanent';
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Structural check: works across two installed copies of core. */
export function isKeepsakeError(err: unknown): err is KeepsakeError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as KeepsakeError).code === 'string' &&
    typeof (err as KeepsakeError).classification === 'string' &&
    typeof (err as KeepsakeError).describe === 'function'
  );
}

/** True for the error an aborted {@link AbortSignal} produces; never retried, never counted as a failure. */
export function isAbortError(err: unknown): boolean {
  if (isKeepsakeError(err)) return err.code === 'ABORTED';
  return typeof err === 'object' && err !== null && ((err as Error).name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}

export function abortError(reason?: unknown): KeepsakeError {
  return new KeepsakeError('ABORTED', 'The run was cancelled', { cause: reason, classification: 'fatal' });
}

/** Throws {@link abortError} when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal.reason);
}

/**
 * Stamps whatever a plugin threw (Rollup's `PLUGIN_ERROR`): a KeepsakeError keeps its code and gains
 * context; anything else becomes `PLUGIN_ERROR` with the plugin's own code in `pluginCode`.
 */
export function wrapPluginError(err: unknown, context: ErrorContext): KeepsakeError {
  if (isKeepsakeError(err)) return (err as KeepsakeError).withContext(context);
  if (isAbortError(err)) return abortError(err);
  const e = err as { message?: string; code?: unknown } | undefined;
  const message = e?.message ?? String(err);
  return new KeepsakeError('PLUGIN_ERROR', message, {
    ...context,
    cause: err,
    pluginCode: typeof e?.code === 'string' ? e.code : undefined,
    classification: 'permanent',
  });
}

/** Factories for the failures sinks report most (VS Code `FileSystemError` style). */
export const SinkError = {
  notFound: (what: string, opts: KeepsakeErrorOptions = {}) =>
    new KeepsakeError('SINK_NOT_FOUND', `${what} was not found at the destination`, opts),
  alreadyExists: (what: string, opts: KeepsakeErrorOptions = {}) =>
    new KeepsakeError('SINK_ALREADY_EXISTS', `${what} already exists with different content`, opts),
  quotaExceeded: (message: string, opts: KeepsakeErrorOptions = {}) =>
    new KeepsakeError('QUOTA_EXHAUSTED', message, { hint: 'Progress is saved; run again when the quota resets.', ...opts }),
  authRequired: (sink: string, opts: KeepsakeErrorOptions = {}) =>
    new KeepsakeError('AUTH_REQUIRED', `Not signed in to ${sink}, or the sign-in expired or was revoked`, {
      hint: `Run: keepsake login ${sink}`,
      ...opts,
    }),
  rateLimited: (retryAfterMs: number | undefined, opts: KeepsakeErrorOptions = {}) =>
    new KeepsakeError('RATE_LIMITED', 'The service asked keepsake to slow down', { retryAfterMs, classification: 'retryable', ...opts }),
  tooLarge: (what: string, size: number, limit: number, opts: KeepsakeErrorOptions = {}) =>
    new KeepsakeError('TOO_LARGE', `${what} is ${size} bytes; the destination accepts at most ${limit}`, opts),
  writeFailed: (message: string, opts: KeepsakeErrorOptions = {}) => new KeepsakeError('SINK_WRITE_FAILED', message, opts),
  verifyMismatch: (what: string, expected: string, actual: string, opts: KeepsakeErrorOptions = {}) =>
    new KeepsakeError('VERIFY_MISMATCH', `${what}: stored copy hash ${actual} differs from source ${expected}`, {
      classification: 'retryable',
      ...opts,
    }),
};
