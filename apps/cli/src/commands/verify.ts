import { RunLock } from '@keepsake/core';
import { boolFlag, stringFlag } from '../args.js';
import { discoverPlugins, loadCliConfig, openLedger } from '../context.js';
import type { CommandHandler } from '../io.js';
import { EXIT } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';
import { writeNdjson } from '../output/ndjson.js';

export const verifyCommand: CommandHandler = async (io) => {
  const { args } = io;
  const { openConfiguredSinks, repairDeliveries, verifyDeliveries } = await import('@keepsake/safety');
  const loaded = await loadCliConfig(stringFlag(args, 'config'), io.cwd);
  const pipeline = args.positionals[0];
  const json = boolFlag(args, 'json');
  const logger = createCliLogger((l) => io.stderr.write(`${l}\n`), logLevelFrom(io.env, boolFlag(args, 'verbose')));
  const host = await discoverPlugins(loaded, { cwd: io.cwd, env: io.env, logger });
  if (pipeline && !loaded.config.pipelines[pipeline]) {
    const { UsageError } = await import('../args.js');
    throw new UsageError(`No pipeline "${pipeline}" in ${loaded.path}`, 'verify');
  }
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const ledger = openLedger(loaded, io.env);
  let lock: RunLock | undefined;
  let opened: Awaited<ReturnType<typeof openConfiguredSinks>> | undefined;
  try {
    // --repair copies again: it must not race a run or watch importing into the same ledger
    if (boolFlag(args, 'repair')) lock = RunLock.acquire(ledger, `keepsake verify --repair${pipeline ? ` ${pipeline}` : ''}`, { onLost: () => ac.abort() });
    opened = await openConfiguredSinks(host, loaded, { pipeline, signal: ac.signal, logger });
    const report = await verifyDeliveries({
      ledger,
      sinks: opened.sinks,
      sinkKeys: pipeline ? [...opened.sinks.keys()] : undefined,
      signal: ac.signal,
      logger,
      onItem: (f) => {
        if (json) writeNdjson(io.stdout, { type: 'verify-item', ...f });
      },
    });
    const problems = report.findings.filter((f) => f.status === 'missing' || f.status === 'corrupt' || f.status === 'error');
    let repaired: Awaited<ReturnType<typeof repairDeliveries>> | undefined;
    if (boolFlag(args, 'repair') && problems.length) {
      repaired = await repairDeliveries({ ledger, host, config: loaded, sinks: opened.sinks, findings: report.findings, signal: ac.signal, logger });
    }
    const stillBroken = repaired ? repaired.unrepaired.length + report.errors : problems.length;
    if (json) {
      writeNdjson(io.stdout, { type: 'verify-report', ...report, findings: undefined, repaired: repaired?.repaired, unrepaired: repaired?.unrepaired });
    } else {
      const out: string[] = [
        `Checked ${report.checked} stored copies: ${report.ok} ok, ${report.missing} missing, ${report.corrupt} corrupt, ${report.unverifiable} unverifiable${report.unavailable ? `, ${report.unavailable} in sinks no longer configured` : ''}${report.errors ? `, ${report.errors} could not be checked` : ''}.`,
      ];
      for (const f of problems) out.push(`  ${f.status.toUpperCase()}: ${f.assetId} → ${f.sinkKey} ${f.location}${f.detail ? ` (${f.detail})` : ''}`);
      if (repaired) {
        out.push(`Repaired ${repaired.repaired} of ${repaired.repaired + repaired.unrepaired.length} broken copies from the source.`);
        for (const f of repaired.unrepaired) out.push(`  NOT REPAIRED: ${f.assetId} → ${f.sinkKey} ${f.location} (the source no longer has it, or delivery failed: see keepsake status)`);
      } else if (problems.length) out.push('Run `keepsake verify --repair` to copy them again from the source.');
      if (report.unverifiable) out.push(`Unverifiable copies (e.g. email) are never counted as verified.`);
      io.stdout.write(`${out.join('\n')}\n`);
    }
    if (ac.signal.aborted) return EXIT.INTERRUPTED;
    return stillBroken ? EXIT.FAILED : EXIT.OK;
  } finally {
    process.off('SIGINT', onSigint);
    await opened?.close();
    lock?.release();
    ledger.close();
    await host.dispose();
  }
};
