import { join } from 'node:path';
import { createFileSecretStore, dataDir, KeepsakeError } from '@keepsake/core';
import { UsageError } from '../args.js';
import { COMMANDS } from '../commands.js';
import { discoverPlugins, loadOptionalConfig } from '../context.js';
import type { CommandIo } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';

/** Extracts `--config P` / `-c P` for the host; everything else goes to the plugin untouched. */
function splitConfigFlag(args: string[]): { config: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '--config' || a === '-c') config = args[++i];
    else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else rest.push(a);
  }
  return { config, rest };
}

/** Dispatches a word no built-in command owns to the plugin whose manifest contributes it. */
export async function pluginCommand(word: string, io: CommandIo): Promise<number> {
  const { config, rest } = splitConfigFlag(io.rawArgs);
  const verbose = rest.includes('--verbose');
  const logger = createCliLogger((l) => io.stderr.write(`${l}\n`), logLevelFrom(io.env, verbose));
  const loaded = await loadOptionalConfig(config, io.cwd);
  const secrets = createFileSecretStore();
  const host = await discoverPlugins(loaded, { cwd: io.cwd, env: io.env, logger, secrets });
  const entry = host.contributions('command').find((c) => c.id === word);
  if (!entry) {
    const words = [...COMMANDS.map((c) => c.name), ...host.contributions('command').map((c) => c.id)];
    const near = words.filter((w) => w.startsWith(word.slice(0, 2)));
    throw new UsageError(`Unknown command "${word}"${near.length ? ` — did you mean ${near.join(' or ')}?` : ''}`);
  }
  const manifest = entry.manifest as { usage?: string; title: string };
  if (rest.includes('--help') || rest.includes('-h')) {
    // help comes from the manifest, so it never needs the plugin's code
    io.stdout.write(`Usage: ${manifest.usage ?? `keepsake ${word}`}\n\n${manifest.title} (from ${entry.plugin.name}).\n`);
    return 0;
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  try {
    const impl = await host.command(word);
    if (!impl) {
      throw new KeepsakeError('PLUGIN_ACTIVATION_FAILED', `${entry.plugin.name} declares command "${word}" but did not register it`, {
        plugin: entry.plugin.name,
        hint: 'Reinstall the plugin or report it to its author.',
      });
    }
    return await impl.run(rest, {
      logger,
      secrets,
      storageDir: join(dataDir(io.env), 'plugins', entry.plugin.name.replace(/[/@]/g, '_')),
      configDir: loaded?.dir ?? io.cwd,
      signal: controller.signal,
      env: io.env,
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: io.stderr,
      interactive: io.stdout.isTTY === true,
      configPath: loaded?.path,
    });
  } finally {
    process.off('SIGINT', onSignal);
    await host.dispose();
  }
}
