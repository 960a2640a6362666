import { createFileSecretStore, KeepsakeError, type LoadedConfig, type SinkConfig } from '@keepsake/core';
import { stringFlag, UsageError } from '../args.js';
import { discoverPlugins, loadCliConfig } from '../context.js';
import { EXIT, type CommandHandler, type CommandIo } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';

/** The configured sink steps whose `use` is `id` (with where they are, for messages). */
function configuredSinks(loaded: LoadedConfig, id: string): { step: SinkConfig; where: string }[] {
  return Object.entries(loaded.config.pipelines).flatMap(([name, p]) =>
    p.sinks.flatMap((s, i) => (s.use === id ? [{ step: s, where: `pipelines.${name}.sinks[${i}]` }] : [])),
  );
}

async function withSink(io: CommandIo, command: 'login' | 'logout'): Promise<number> {
  const { args } = io;
  const id = args.positionals[0];
  if (!id) throw new UsageError(`Say which sink: keepsake ${command} <sink-id> (the "use" of a sink in your config)`, command);
  if (args.positionals.length > 1 && command === 'logout') throw new UsageError(`Unexpected argument ${args.positionals[1]}`, command);
  const loaded = await loadCliConfig(stringFlag(args, 'config'), io.cwd);
  const logger = createCliLogger((l) => io.stderr.write(`${l}\n`), logLevelFrom(io.env, false));
  const secrets = createFileSecretStore();
  const host = await discoverPlugins(loaded, { cwd: io.cwd, env: io.env, logger, secrets });
  try {
    const matches = configuredSinks(loaded, id);
    if (matches.length === 0) {
      const used = [...new Set(Object.values(loaded.config.pipelines).flatMap((p) => p.sinks.map((s) => s.use)))];
      throw new KeepsakeError('CONFIG_INVALID', `No sink "${id}" is configured in ${loaded.path}`, {
        stage: 'config',
        hint: `Configured sinks: ${used.join(', ') || 'none'}. Add a { "use": "${id}", "with": { … } } sink to a pipeline first.`,
      });
    }
    // Several pipelines may share one account; the options differ only if the user made them differ.
    const { step, where } = matches[0]!;
    const options = host.resolveOptions('sink', step, where);
    const controller = new AbortController();
    const onSignal = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    try {
      const { contribution, context } = await host.sinkContribution(id, { configDir: loaded.dir, signal: controller.signal, logger, secrets, env: io.env });
      const fn = command === 'login' ? contribution.login : contribution.logout;
      if (!fn) {
        io.stdout.write(`Sink "${id}" needs no ${command === 'login' ? 'sign-in' : 'sign-out'}.\n`);
        return EXIT.OK;
      }
      const cctx = {
        ...context,
        stdin: io.stdin,
        stdout: io.stdout,
        stderr: io.stderr,
        interactive: io.stdout.isTTY === true,
        configPath: loaded.path,
      };
      // the plugin reports what it did (account, where the secret went)
      if (command === 'login') await contribution.login!(options, { ...cctx, args: [...args.positionals.slice(1), ...args.rest] });
      else await contribution.logout!(options, cctx);
      return EXIT.OK;
    } finally {
      process.off('SIGINT', onSignal);
    }
  } finally {
    await host.dispose();
  }
}

export const loginCommand: CommandHandler = (io) => withSink(io, 'login');
export const logoutCommand: CommandHandler = (io) => withSink(io, 'logout');
