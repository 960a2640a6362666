import type { RunReport } from '@keepsake/core';
import { formatBytes, formatCount, formatDuration } from './format.js';

/** The end-of-run summary a person reads: counts per outcome, then every failure with its hint. */
export function formatReport(r: RunReport, options: { dryRun?: boolean } = {}): string {
  const ms = Date.parse(r.endedAt) - Date.parse(r.startedAt);
  const lines: string[] = [];
  const status = r.stoppedBy ? 'stopped' : r.aborted ? 'interrupted' : r.failed > 0 ? 'finished with failures' : 'done';
  lines.push(`${options.dryRun ? 'Dry run' : 'Run'} ${r.pipeline} #${r.runId}: ${status} in ${formatDuration(ms)}`);
  lines.push(`  ${formatCount(r.assets)} items seen`);
  if (options.dryRun || r.dryRun) lines.push(`  ${formatCount(r.planned)} would be copied`);
  else lines.push(`  ${formatCount(r.copied)} copied (${formatBytes(r.bytesCopied)})`);
  lines.push(`  ${formatCount(r.skipped)} skipped, already verified`);
  lines.push(`  ${formatCount(r.deduped)} deduped, same content already stored`);
  lines.push(`  ${formatCount(r.failed)} failed`);
  if (r.failures.length) {
    lines.push('', 'Failures:');
    for (const f of r.failures) {
      const e = f.error as { code?: string; message?: string; hint?: string; location?: string };
      lines.push(`  ✗ ${f.assetId}${f.sink ? ` → ${f.sink}` : ''}: ${e.code ?? 'ERROR'}: ${e.message ?? ''}`);
      if (e.location && !e.message?.includes(e.location)) lines.push(`      at: ${e.location}`);
      if (e.hint) lines.push(`      hint: ${e.hint}`);
    }
  }
  const warnings = r.diagnostics.filter((d) => d.diagnostic.level !== 'info');
  if (warnings.length) {
    lines.push('', 'Notes:');
    for (const d of warnings.slice(0, 50)) lines.push(`  ${d.diagnostic.level === 'error' ? '!' : '·'} ${d.assetId}: ${d.diagnostic.message} (${d.diagnostic.source})`);
    if (warnings.length > 50) lines.push(`  … and ${warnings.length - 50} more (use --json for all)`);
  }
  if (r.stoppedBy) {
    const e = r.stoppedBy as { code?: string; message?: string; hint?: string };
    lines.push('', `Stopped: ${e.code}: ${e.message}`);
    if (e.hint) lines.push(`  hint: ${e.hint}`);
  }
  if (r.aborted) lines.push('', 'Interrupted: run the same command again to continue where it stopped.');
  else if (r.failed > 0) lines.push('', 'Fix the problems above and run again: verified items are skipped, failed ones retried.');
  return lines.join('\n') + '\n';
}
