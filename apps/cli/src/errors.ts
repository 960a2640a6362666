import { UsageError } from './args.js';
import { EXIT } from './io.js';

/** Codes that mean "fix the command line or config": exit 2, nothing ran. */
const USAGE_CODES = new Set([
  'USAGE',
  'CONFIG_NOT_FOUND',
  'CONFIG_INVALID',
  'PIPELINE_NOT_FOUND',
  'OPTION_INVALID',
  'PLUGIN_NOT_FOUND',
  'PLUGIN_INCOMPATIBLE',
  'PLUGIN_MANIFEST_INVALID',
]);

interface ErrorLike {
  code?: unknown;
  message?: string;
  hint?: unknown;
  context?: { location?: string; assetId?: string; plugin?: string };
  describe?: () => string;
}

/** Duck-typed so this file does not import core (it is loaded on every error, even for --help typos). */
export function isKeepsakeErrorLike(err: unknown): err is ErrorLike & { code: string } {
  const e = err as ErrorLike | undefined;
  return !!e && typeof e.code === 'string' && typeof e.describe === 'function';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (isKeepsakeErrorLike(err)) {
    if (err.code === 'ABORTED') return EXIT.INTERRUPTED;
    return USAGE_CODES.has(err.code) ? EXIT.USAGE : EXIT.FAILED;
  }
  return EXIT.FAILED;
}

/** `error CODE: message` plus where and what to do, for a human on stderr. */
export function formatError(err: unknown): string {
  if (err instanceof UsageError) {
    return `error: ${err.message}\nRun \`keepsake ${err.command ? `${err.command} ` : ''}--help\` for usage.\n`;
  }
  if (isKeepsakeErrorLike(err)) {
    const lines = [`error ${err.code}: ${err.message}`];
    const where = err.context?.location;
    if (where && !err.message?.includes(where)) lines.push(`  at: ${where}`);
    if (typeof err.hint === 'string' && err.hint) lines.push(`  hint: ${err.hint}`);
    return lines.join('\n') + '\n';
  }
  const e = err as Error;
  return `error: ${e?.stack ?? String(err)}\n`;
}

/** The JSON form for `--json` callers: one `{ "type": "error", … }` line on stdout. */
export function errorJson(err: unknown): Record<string, unknown> {
  if (err instanceof UsageError) return { type: 'error', error: { code: 'USAGE', message: err.message } };
  if (isKeepsakeErrorLike(err) && typeof (err as { toJSON?: unknown }).toJSON === 'function') {
    return { type: 'error', error: (err as unknown as { toJSON(): unknown }).toJSON() };
  }
  return { type: 'error', error: { code: 'INTERNAL', message: (err as Error)?.message ?? String(err) } };
}
