import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { boolFlag, stringFlag, UsageError } from '../args.js';
import { loadOptionalConfig, openLedger } from '../context.js';
import type { CommandHandler } from '../io.js';
import { EXIT } from '../io.js';
import { formatBytes, formatCount } from '../output/format.js';

export const statusCommand: CommandHandler = async (io) => {
  const { args } = io;
  const { computeStatus, renderStatusHtml, sinksSharingADisk } = await import('@keepsake/safety');
  const loaded = await loadOptionalConfig(stringFlag(args, 'config'), io.cwd);
  const pipeline = args.positionals[0];
  if (pipeline && loaded && !loaded.config.pipelines[pipeline]) throw new UsageError(`No pipeline "${pipeline}" in ${loaded.path}`, 'status');
  const minCopies = Number(stringFlag(args, 'min-copies') ?? 2);
  if (!Number.isInteger(minCopies) || minCopies < 1) throw new UsageError('--min-copies must be a whole number ≥ 1', 'status');
  const ledger = openLedger(loaded, io.env);
  try {
    const status = computeStatus(ledger, { pipeline, minCopies, requireOffsite: boolFlag(args, 'require-offsite') });
    const html = stringFlag(args, 'html');
    if (html) {
      await writeFile(resolve(io.cwd, html), renderStatusHtml(status));
      io.stderr.write(`Wrote ${resolve(io.cwd, html)}\n`);
    }
    const sameDisk = await sinksSharingADisk(status.sinks.map((s) => s.sinkKey));
    if (boolFlag(args, 'json')) {
      io.stdout.write(`${JSON.stringify({ ...status, sameDisk }, null, 2)}\n`);
      return EXIT.OK;
    }
    const o = status.overall;
    const lines = [
      o.assets === 0
        ? 'Nothing backed up yet.'
        : o.atRisk === 0
          ? `All ${formatCount(o.assets)} items are protected (${status.minCopies}+ verified copies${status.requireOffsite ? ', one off-site' : ''}).`
          : `${formatCount(o.atRisk)} of ${formatCount(o.assets)} items are at risk (fewer than ${status.minCopies} verified copies${status.requireOffsite ? ' or none off-site' : ''}).`,
      '',
      `  copies      0: ${formatCount(o.copies.assets[0])}   1: ${formatCount(o.copies.assets[1])}   2: ${formatCount(o.copies.assets[2])}   3+: ${formatCount(o.copies.assets[3])}`,
      `  off-site    ${formatCount(o.offsite)} items have an off-site copy`,
    ];
    if (o.pruned) {
      const prunedAtRisk = status.atRisk.filter((a) => a.prunedAt).length;
      lines.push(
        `  pruned      ${formatCount(o.pruned)} items were deleted from their source by prune; the copies are all that is left${prunedAtRisk ? ` (${formatCount(prunedAtRisk)} of them at risk)` : ''}`,
      );
    }
    lines.push(`  total       ${formatCount(o.assets)} items, ${formatBytes(o.bytes)}`);
    for (const s of status.sources) {
      lines.push(
        `  source ${s.sourceKey}: ${formatCount(s.assets)} items${s.pruned ? ` (${formatCount(s.pruned)} pruned from it)` : ''}, ${formatCount(s.protected)} protected, ${formatCount(s.atRisk)} at risk`,
      );
    }
    for (const s of status.sinks) lines.push(`  sink ${s.sinkKey}${s.offsite ? ' (off-site)' : ''}: last run ${s.lastRunAt?.replace('T', ' ').slice(0, 19) ?? 'never'}`);
    for (const d of sameDisk) {
      lines.push(`  note: ${d.sinkKeys.join(' and ')} are on the same disk: they count as copies, but one disk failure loses them together (3-2-1 wants two different media)`);
    }
    if (status.atRisk.length) {
      lines.push('', 'At risk:');
      for (const a of status.atRisk.slice(0, 20)) lines.push(`  ${a.assetId}  (${a.capturedAt?.slice(0, 10) ?? 'no date'})  ${a.reason}`);
      if (status.atRisk.length > 20) lines.push(`  … and ${formatCount(status.atRisk.length - 20)} more (--json or --html for the full list)`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.OK;
  } finally {
    ledger.close();
  }
};
