import { stringFlag } from '../args.js';
import { discoverPlugins, loadOptionalConfig } from '../context.js';
import { EXIT, type CommandHandler } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';

export const schemaCommand: CommandHandler = async ({ args, cwd, env, stdout, stderr }) => {
  const logger = createCliLogger((l) => stderr.write(`${l}\n`), logLevelFrom(env, false));
  const loaded = await loadOptionalConfig(stringFlag(args, 'config'), cwd);
  const host = await discoverPlugins(loaded, { cwd, env, logger });
  stdout.write(`${JSON.stringify(host.configSchema(), null, 2)}\n`);
  return EXIT.OK;
};
