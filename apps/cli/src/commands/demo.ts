import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LoadedConfig, PipelineConfig } from '@keepsake/core';
import { boolFlag, stringFlag, UsageError } from '../args.js';
import { executePipeline } from '../execute.js';
import { EXIT, type CommandHandler } from '../io.js';
import { writeSampleRoll } from '../sample-roll.js';

/**
 * `keepsake demo`: the main job (camera roll → dated folders, verified) on sample data, with a
 * throwaway ledger so it never touches the user's real one.
 */
export const demoCommand: CommandHandler = async (io) => {
  const { args } = io;
  if (args.positionals.length) throw new UsageError(`Unexpected argument ${args.positionals[0]}`, 'demo');
  const json = boolFlag(args, 'json');
  const work = await mkdtemp(join(tmpdir(), 'keepsake-demo-'));
  const out = stringFlag(args, 'out') ? resolve(io.cwd, stringFlag(args, 'out')!) : join(work, 'Photos');
  try {
    const rollDir = join(work, 'camera-roll');
    const files = await writeSampleRoll(rollDir);
    if (!json) io.stderr.write(`Sample camera roll: ${files.length} files in ${rollDir}\n`);
    const pipeline: PipelineConfig = {
      source: { use: 'folder', with: { path: join(rollDir, 'DCIM') } },
      sinks: [{ use: 'folder', with: { path: out, template: '{yyyy}/{yyyy}-{MM}' } }],
    };
    const loaded: LoadedConfig = { config: { ledger: join(work, 'ledger.sqlite'), pipelines: { demo: pipeline } }, path: undefined, dir: work };
    const { code } = await executePipeline({ loaded, pipeline: 'demo', json, dryRun: false, verbose: false, io });
    if (!json && code === EXIT.OK) {
      io.stdout.write(`\nYour copies are in ${out}\nNext: \`keepsake init\` writes a config for your iPhone, then \`keepsake run\`.\n`);
    }
    return code;
  } finally {
    // the sample roll and ledger are throwaway; the output stays unless it lives inside the work dir
    if (stringFlag(args, 'out')) await rm(work, { recursive: true, force: true });
    else {
      await rm(join(work, 'camera-roll'), { recursive: true, force: true });
      await rm(join(work, 'ledger.sqlite'), { force: true });
      await rm(join(work, 'ledger.sqlite-wal'), { force: true });
      await rm(join(work, 'ledger.sqlite-shm'), { force: true });
    }
  }
};
