import type { PipelineEvent } from '@keepsake/core';

/** One event as a JSON-safe object: errors become their `toJSON()` (code, message, hint, context). */
export function eventToJson(e: PipelineEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { ...e, time: new Date().toISOString() };
  if ('error' in e && e.error && typeof (e.error as { toJSON?: unknown }).toJSON === 'function') out.error = e.error.toJSON();
  return out;
}

export function writeNdjson(out: NodeJS.WritableStream, value: unknown): void {
  out.write(`${JSON.stringify(value)}\n`);
}
