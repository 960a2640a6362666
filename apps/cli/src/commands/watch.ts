import type { LoadedConfig, PipelineConfig } from '@keepsake/core';
import { boolFlag, stringFlag } from '../args.js';
import { discoverPlugins, loadCliConfig, openLedger } from '../context.js';
import type { CommandHandler } from '../io.js';
import { EXIT } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';
import { writeNdjson } from '../output/ndjson.js';

const normUdid = (u: string) => u.replace(/-/g, '').toLowerCase();

/** Pipelines that read from this iPhone: `iphone` sources with its UDID, or with none ("any iPhone"). */
export function pipelinesForIphone(loaded: LoadedConfig, udid: string): string[] {
  return Object.entries(loaded.config.pipelines)
    .filter(([, p]) => p.source.use === 'iphone' && (typeof p.source.with?.udid !== 'string' || normUdid(p.source.with.udid) === normUdid(udid)))
    .map(([name]) => name);
}

export const watchCommand: CommandHandler = async (io) => {
  const { args } = io;
  const { Watcher, FolderMonitor, isRemovablePath, formatWatchEvent, notify, summaryText } = await import('@keepsake/watch');
  const { runConfiguredPipeline, resolveConfigPath, RunLock } = await import('@keepsake/core');
  const { computeStatus } = await import('@keepsake/safety');
  const loaded = await loadCliConfig(stringFlag(args, 'config'), io.cwd);
  const json = boolFlag(args, 'json');
  const notifications = !boolFlag(args, 'no-notify');
  const stamp = () => new Date().toISOString().replace('T', ' ').slice(0, 19);
  const say = (line: string) => io.stderr.write(`${stamp()} ${line}\n`);
  const logger = createCliLogger(say, logLevelFrom(io.env, boolFlag(args, 'verbose')));
  const host = await discoverPlugins(loaded, { cwd: io.cwd, env: io.env, logger });
  host.validateConfig(loaded);
  const ledger = openLedger(loaded, io.env);

  const monitors = [];
  const hasIphone = Object.values(loaded.config.pipelines).some((p) => p.source.use === 'iphone');
  if (hasIphone) {
    const { UsbmuxClient } = await import('@keepsake/transport-usb');
    const client = new UsbmuxClient({ env: io.env });
    monitors.push({
      async *events(signal: AbortSignal) {
        const ids = new Map<number, string>();
        for await (const e of client.listen(signal)) {
          if (e.type === 'attached') {
            ids.set(e.device.deviceId, e.device.udid);
            // a phone on USB and Wi-Fi shows twice: one target per UDID
            yield { type: 'attached' as const, target: { id: `iphone:${e.device.udid}`, label: `iPhone ${e.device.udid}` } };
          } else if (e.type === 'detached') {
            const udid = ids.get(e.deviceId);
            ids.delete(e.deviceId);
            if (udid && ![...ids.values()].includes(udid)) yield { type: 'detached' as const, id: `iphone:${udid}` };
          }
        }
      },
    });
  }
  const folders = Object.entries(loaded.config.pipelines)
    .filter(([, p]) => p.source.use === 'folder' && typeof p.source.with?.path === 'string')
    .map(([name, p]) => ({ name, path: resolveConfigPath(loaded, p.source.with!.path as string) }))
    .filter((f) => isRemovablePath(f.path));
  if (folders.length) monitors.push(new FolderMonitor(folders.map((f) => ({ id: `folder:${f.path}`, label: `card ${f.path}`, path: f.path }))));
  if (monitors.length === 0) {
    say('Nothing to watch: no pipeline reads from an iPhone or from removable media (/media, /Volumes, D:…). Add one with `keepsake init`.');
    return EXIT.USAGE;
  }

  // The ledger's run lock is this process's while any of its runs is active (two phones plugged in
  // at once run side by side); a manual `keepsake run` or `prune` in another process goes first.
  const ac = new AbortController();
  let shared: { lock: ReturnType<typeof RunLock.waitFor>; stopWaiting: AbortController } | undefined;
  let holders = 0;
  const holdLedger = async (signal: AbortSignal) => {
    holders++;
    if (!shared) {
      const stopWaiting = new AbortController();
      const lock = RunLock.waitFor(ledger, 'keepsake watch', {
        signal: AbortSignal.any([ac.signal, stopWaiting.signal]),
        onWait: (h) => say(`Waiting for "${h.command}" (pid ${h.pid}) to finish with the ledger before backing up…`),
        onLost: (by) => {
          say(`Another keepsake${by ? ` ("${by.command}", pid ${by.pid})` : ''} took over the ledger; stopping so items are not imported twice.`);
          ac.abort();
        },
      });
      shared = { lock, stopWaiting };
    }
    try {
      // an unplugged phone stops waiting at once; the others keep waiting
      await untilAborted(shared.lock, signal);
    } catch (err) {
      releaseLedger();
      throw err;
    }
  };
  const releaseLedger = () => {
    if (--holders > 0 || !shared) return;
    const { lock, stopWaiting } = shared;
    shared = undefined;
    stopWaiting.abort(); // nobody is waiting any more (no effect once the lock is held)
    lock.then(
      (l) => l.release(),
      () => {},
    );
  };

  const runPipelines = async (names: string[], override: (p: PipelineConfig) => PipelineConfig, signal: AbortSignal) => {
    let copied = 0;
    let failed = 0;
    let stoppedBy: string | undefined;
    await holdLedger(signal);
    try {
      for (const name of names) {
        if (signal.aborted) break;
        const config: LoadedConfig = { ...loaded, config: { ...loaded.config, pipelines: { [name]: override(loaded.config.pipelines[name]!) } } };
        const report = await runConfiguredPipeline({ host, config, pipeline: name, ledger, signal, logger });
        if (json) writeNdjson(io.stdout, { type: 'run-report', report });
        copied += report.copied;
        failed += report.failed;
        stoppedBy ??= typeof report.stoppedBy?.code === 'string' ? report.stoppedBy.code : undefined;
      }
    } finally {
      releaseLedger();
    }
    const atRisk = names.reduce((n, p) => n + computeStatus(ledger, { pipeline: p }).overall.atRisk, 0);
    return { copied, failed, atRisk, stoppedBy };
  };

  const watcher = new Watcher({
    monitors,
    log: (e) => {
      if (json) writeNdjson(io.stdout, { time: new Date().toISOString(), ...e });
      else say(formatWatchEvent(e));
      if (e.type === 'run-end' && notifications) notify('keepsake backup', summaryText({ device: e.target, ...e.result }));
    },
    runTarget: async (target, signal) => {
      if (target.id.startsWith('iphone:')) {
        const udid = target.id.slice('iphone:'.length);
        const names = pipelinesForIphone(loaded, udid);
        if (!names.length) return { copied: 0, failed: 0, unmatched: true };
        return runPipelines(names, (p) => ({ ...p, source: { ...p.source, with: { ...p.source.with, udid } } }), signal);
      }
      const path = target.id.slice('folder:'.length);
      const names = folders.filter((f) => f.path === path).map((f) => f.name);
      return runPipelines(names, (p) => p, signal);
    },
  });
  let stops = 0;
  const stop = () => {
    // first signal: stop runs cleanly (the ledger keeps progress); second: quit now
    if (++stops > 1) process.exit(EXIT.INTERRUPTED);
    say('Stopping: finishing or rolling back the items in flight… (Ctrl-C again to quit now)');
    ac.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  say(`keepsake watch: waiting for ${[hasIphone && 'iPhones', folders.length && `${folders.length} card folder(s)`].filter(Boolean).join(' and ')} (Ctrl-C to stop)`);
  try {
    await watcher.run(ac.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    ledger.close();
    await host.dispose();
  }
  return EXIT.OK;
};

/** `promise`, or a rejection as soon as `signal` aborts (the promise itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('stopped'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
