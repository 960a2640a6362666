/**
 * Runs one pipeline with terminal output: progress bars on a TTY (stderr), NDJSON events with
 * --json (stdout), the final report, Ctrl-C handling and the exit code. Shared by `run` and `demo`.
 */
import { existsSync } from 'node:fs';
import { createFileSecretStore, Ledger, type LoadedConfig, type PipelineEvent, type RunReport, RunLock, runConfiguredPipeline } from '@keepsake/core';
import { discoverPlugins, ledgerPathFor } from './context.js';
import { EXIT, type CommandIo } from './io.js';
import { createCliLogger, logLevelFrom } from './logger.js';
import { eventToJson, writeNdjson } from './output/ndjson.js';
import { ProgressRenderer } from './output/progress-renderer.js';
import { ProgressState } from './output/progress-state.js';
import { formatReport } from './output/report.js';

export interface ExecuteOptions {
  loaded: LoadedConfig;
  pipeline: string;
  json: boolean;
  dryRun: boolean;
  verbose: boolean;
  io: CommandIo;
}

export interface ExecuteResult {
  code: number;
  report: RunReport;
}

export async function executePipeline(o: ExecuteOptions): Promise<ExecuteResult> {
  const { io } = o;
  const interactive = !o.json && io.stderr.isTTY === true && io.env.TERM !== 'dumb';
  const state = new ProgressState();
  const renderer = interactive ? new ProgressRenderer(io.stderr, state) : undefined;
  const say = (line: string) => (renderer ? renderer.log(line) : io.stderr.write(`${line}\n`));
  const logger = createCliLogger(say, logLevelFrom(io.env, o.verbose));

  // Only the chosen pipeline is checked: a typo in another pipeline must not block this one.
  const only: LoadedConfig = { ...o.loaded, config: { ...o.loaded.config, pipelines: { [o.pipeline]: o.loaded.config.pipelines[o.pipeline]! } } };
  const secrets = createFileSecretStore();
  const host = await discoverPlugins(only, { cwd: io.cwd, env: io.env, logger, secrets });
  try {
    host.validateConfig(only);
    // a dry run writes nothing: without a ledger yet, plan against an empty in-memory one
    const ledgerPath = ledgerPathFor(only, io.env);
    const ledger = Ledger.open(o.dryRun && !existsSync(ledgerPath) ? ':memory:' : ledgerPath);
    const controller = new AbortController();
    let lock: RunLock | undefined;
    try {
      // one import into a ledger at a time (a manual run while the watch service copies)
      if (!o.dryRun) {
        lock = RunLock.acquire(ledger, `keepsake run ${o.pipeline}`, {
          onLost: (by) => {
            say(`Another keepsake${by ? ` ("${by.command}", pid ${by.pid})` : ''} took over the ledger; stopping so items are not imported twice.`);
            controller.abort(new Error('the ledger lock was taken over'));
          },
        });
      }
    } catch (err) {
      ledger.close();
      throw err;
    }
    let interrupts = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      interrupts++;
      if (interrupts > 1) {
        say('Stopped immediately. The ledger is consistent; the next run re-checks the items that were in flight.');
        process.exit(EXIT.INTERRUPTED);
      }
      controller.abort(new Error(`received ${sig}`));
      if (renderer) renderer.setNote('Stopping: finishing or rolling back the items in flight… (Ctrl-C again to quit now)');
      else say('Stopping: finishing or rolling back the items in flight… (Ctrl-C again to quit now)');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    renderer?.start();
    try {
      const onEvent = (e: PipelineEvent) => {
        state.apply(e);
        if (o.json) writeNdjson(io.stdout, eventToJson(e));
        else if (renderer && e.type === 'item-failed') renderer.log(`✗ ${e.assetId}${e.sink ? ` → ${e.sink}` : ''}: ${e.error.code}: ${e.error.message}`);
      };
      const report = await runConfiguredPipeline({
        host,
        secrets,
        env: io.env,
        config: only,
        pipeline: o.pipeline,
        ledger,
        signal: controller.signal,
        onEvent,
        dryRun: o.dryRun,
        logger,
      });
      renderer?.stop();
      if (!o.json) io.stdout.write(formatReport(report, { dryRun: o.dryRun }));
      return { code: exitCodeForReport(report), report };
    } finally {
      renderer?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      lock?.release();
      ledger.close();
    }
  } finally {
    await host.dispose();
  }
}

export function exitCodeForReport(r: RunReport): number {
  if (r.aborted) return EXIT.INTERRUPTED;
  if (r.failed > 0 || r.stoppedBy) return EXIT.FAILED;
  return EXIT.OK;
}
