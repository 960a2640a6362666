import { RunLock } from '@keepsake/core';
import { boolFlag, stringFlag, UsageError } from '../args.js';
import { confirmYes } from '../confirm.js';
import { discoverPlugins, loadCliConfig, openLedger, pickPipeline } from '../context.js';
import type { CommandHandler } from '../io.js';
import { EXIT } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';
import { formatBytes, formatCount } from '../output/format.js';

export const pruneCommand: CommandHandler = async (io) => {
  const { args } = io;
  const { parseOlderThan, prune } = await import('@keepsake/safety');
  const loaded = await loadCliConfig(stringFlag(args, 'config'), io.cwd);
  const pipeline = pickPipeline(loaded, args.positionals[0]);
  const minCopies = Number(stringFlag(args, 'min-copies') ?? 2);
  if (!Number.isInteger(minCopies) || minCopies < 1) throw new UsageError('--min-copies must be a whole number ≥ 1', 'prune');
  const olderThan = stringFlag(args, 'older-than');
  const capturedBefore = olderThan ? parseOlderThan(olderThan) : undefined;
  const json = boolFlag(args, 'json');
  const yes = boolFlag(args, 'yes');
  const dryRun = boolFlag(args, 'dry-run');
  const logger = createCliLogger((l) => io.stderr.write(`${l}\n`), logLevelFrom(io.env, boolFlag(args, 'verbose')));
  const host = await discoverPlugins(loaded, { cwd: io.cwd, env: io.env, logger });
  const ledger = openLedger(loaded, io.env);
  const ac = new AbortController();
  let lock: RunLock | undefined;
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const summaryLine = (s: { count: number; bytes: number; oldest: string | null; newest: string | null }) =>
    `${formatCount(s.count)} items (${formatBytes(s.bytes)})${s.oldest ? `, taken ${s.oldest.slice(0, 10)} to ${s.newest?.slice(0, 10)}` : ''}`;
  try {
    const report = await prune({
      ledger,
      host,
      config: loaded,
      pipeline,
      minCopies,
      requireOffsite: boolFlag(args, 'require-offsite'),
      capturedBefore,
      dryRun,
      signal: ac.signal,
      logger,
      confirm: async (summary) => {
        // deleting must not race a run or watch importing from the same ledger; listing (iPhone,
        // backups) and dry runs never get here, so they work while the watch service copies
        lock = RunLock.acquire(ledger, `keepsake prune ${pipeline}`, { onLost: () => ac.abort() });
        if (yes) return true;
        if (!io.stdin.isTTY) {
          throw new UsageError('prune deletes from the source; confirm with --yes when not running in a terminal (or use --dry-run)', 'prune');
        }
        io.stderr.write(`About to delete ${summaryLine(summary)} from the source. Every part has ≥ ${minCopies} verified copies, re-checked just before deletion.\n`);
        return confirmYes({ input: io.stdin, output: io.stderr, signal: ac.signal, onInterrupt: () => ac.abort() }, 'Delete them? Type "yes" to continue: ');
      },
    });
    if (json) {
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const out: string[] = [];
      out.push(`Safe to delete: ${summaryLine(report.safe)}. Kept: ${formatCount(report.kept.length)}.`);
      if (report.mode === 'list-only') {
        out.push('', `Nothing was deleted. ${report.note}`, '', 'Safe to delete by hand:');
        for (const c of report.candidates) out.push(`  ${c.capturedAt?.replace('T', ' ') ?? 'no date'}  ${c.names.join(' + ')}`);
      } else if (report.mode === 'dry-run') {
        out.push('Dry run: nothing was deleted.');
        for (const c of report.candidates) out.push(`  would delete ${c.assetId} (${c.names.join(' + ')})`);
      } else if (report.mode === 'cancelled') out.push('Cancelled: nothing was deleted.');
      else out.push(`Deleted ${formatCount(report.deleted)} items (${formatBytes(report.deletedBytes)}) from the source.`);
      for (const k of report.kept.slice(0, 20)) out.push(`  kept ${k.assetId}: ${k.reason}`);
      if (report.kept.length > 20) out.push(`  … and ${formatCount(report.kept.length - 20)} more kept (--json for all)`);
      for (const f of report.failed) out.push(`  FAILED ${f.assetId}: ${f.error}`);
      io.stdout.write(`${out.join('\n')}\n`);
    }
    if (ac.signal.aborted) return EXIT.INTERRUPTED;
    return report.failed.length ? EXIT.FAILED : EXIT.OK;
  } finally {
    process.off('SIGINT', onSigint);
    lock?.release();
    ledger.close();
    await host.dispose();
  }
};
