import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LoadedConfig, PipelineConfig } from '@keepsake/core';
import { boolFlag, stringFlag, UsageError } from '../args.js';
import { discoverPlugins } from '../context.js';
import { startDemoSimulator } from '../demo-simulator.js';
import { executePipeline } from '../execute.js';
import { EXIT, type CommandHandler } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';
import { writeSampleRoll } from '../sample-roll.js';

/**
 * `keepsake demo`: the main job (camera roll → dated folders, verified) on sample data, with a
 * throwaway ledger and data dir so it never touches the user's real ones.
 */
export const demoCommand: CommandHandler = async (io) => {
  const { args } = io;
  if (args.positionals.length) throw new UsageError(`Unexpected argument ${args.positionals[0]}`, 'demo');
  const json = boolFlag(args, 'json');
  const work = await mkdtemp(join(tmpdir(), 'keepsake-demo-'));
  const out = stringFlag(args, 'out') ? resolve(io.cwd, stringFlag(args, 'out')!) : join(work, 'Photos');
  const env: NodeJS.ProcessEnv = { ...io.env, KEEPSAKE_DATA_DIR: join(work, 'data') };
  const say = (line: string) => json || io.stderr.write(`${line}\n`);
  const logger = createCliLogger(say, logLevelFrom(io.env, false));
  let stopSimulator: (() => Promise<void>) | undefined;
  try {
    // the folder sink never creates its root (an unmounted disk must not look empty); the demo may
    await mkdir(out, { recursive: true });
    const sink = { use: 'folder', with: { path: out, template: '{yyyy}/{yyyy}-{MM}' } };
    let pipeline: PipelineConfig;
    let runEnv = env;
    const host = await discoverPlugins(undefined, { cwd: io.cwd, env, logger });
    const sim = io.env.KEEPSAKE_DEMO_SOURCE === 'folder' ? undefined : await startDemoSimulator(host, env, logger);
    await host.dispose();
    if (sim) {
      stopSimulator = sim.stop;
      runEnv = sim.env;
      say(`Simulated iPhone "Demo iPhone" with ${sim.files} files on ${sim.env.USBMUXD_SOCKET_ADDRESS}`);
      pipeline = { source: { use: 'iphone', with: {} }, sinks: [sink] };
    } else {
      const rollDir = join(work, 'camera-roll');
      const files = await writeSampleRoll(rollDir);
      say(`Sample camera roll: ${files.length} files in ${rollDir}`);
      pipeline = { source: { use: 'folder', with: { path: join(rollDir, 'DCIM') } }, sinks: [sink] };
    }
    const loaded: LoadedConfig = { config: { ledger: join(work, 'ledger.sqlite'), pipelines: { demo: pipeline } }, path: undefined, dir: work };
    const { code } = await executePipeline({ loaded, pipeline: 'demo', json, dryRun: false, verbose: false, io: { ...io, env: runEnv } });
    if (!json && code === EXIT.OK) {
      io.stdout.write(`\nYour copies are in ${out}\nNext: \`keepsake init\` writes a config for your iPhone, then \`keepsake run\`.\n`);
    }
    return code;
  } finally {
    await stopSimulator?.().catch(() => {});
    // everything but the output is throwaway (sample roll, ledger, pair records)
    if (stringFlag(args, 'out')) await rm(work, { recursive: true, force: true });
    else {
      for (const name of ['camera-roll', 'data', 'tmp', 'ledger.sqlite', 'ledger.sqlite-wal', 'ledger.sqlite-shm']) {
        await rm(join(work, name), { recursive: true, force: true });
      }
    }
  }
};
