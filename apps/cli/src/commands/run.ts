import { boolFlag, stringFlag, UsageError } from '../args.js';
import { loadCliConfig, pickPipeline } from '../context.js';
import { executePipeline } from '../execute.js';
import type { CommandHandler } from '../io.js';

export const runCommand: CommandHandler = async (io) => {
  const { args } = io;
  if (args.positionals.length > 1) throw new UsageError(`Run one pipeline at a time (got ${args.positionals.join(', ')})`, 'run');
  const loaded = await loadCliConfig(stringFlag(args, 'config'), io.cwd);
  const pipeline = pickPipeline(loaded, args.positionals[0]);
  const { code } = await executePipeline({
    loaded,
    pipeline,
    json: boolFlag(args, 'json'),
    dryRun: boolFlag(args, 'dry-run'),
    verbose: boolFlag(args, 'verbose'),
    io,
  });
  return code;
};
