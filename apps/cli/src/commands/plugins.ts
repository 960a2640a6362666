import { boolFlag, stringFlag } from '../args.js';
import { discoverPlugins, loadOptionalConfig } from '../context.js';
import { EXIT, type CommandHandler } from '../io.js';
import { createCliLogger, logLevelFrom } from '../logger.js';

const KINDS = [
  ['sources', 'source'],
  ['transforms', 'transform'],
  ['sinks', 'sink'],
  ['commands', 'command'],
] as const;

/** Lists plugins from their manifests only: no plugin code is imported. */
export const pluginsCommand: CommandHandler = async ({ args, cwd, env, stdout, stderr }) => {
  const logger = createCliLogger((l) => stderr.write(`${l}\n`), logLevelFrom(env, false));
  const loaded = await loadOptionalConfig(stringFlag(args, 'config'), cwd);
  const host = await discoverPlugins(loaded, { cwd, env, logger });
  const plugins = host.plugins();
  if (boolFlag(args, 'json')) {
    stdout.write(
      `${JSON.stringify(
        plugins.map((p) => ({
          name: p.name,
          version: p.version,
          dir: p.dir,
          origin: p.origin,
          compatible: p.compatible,
          problem: p.problem,
          engine: p.engine,
          contributes: Object.fromEntries(KINDS.map(([key]) => [key, (p.manifest?.contributes[key] ?? []).map((c) => ({ id: c.id, title: c.title }))])),
          requires: p.manifest?.requires ?? [],
        })),
        null,
        2,
      )}\n`,
    );
    return EXIT.OK;
  }
  if (plugins.length === 0) {
    stdout.write('No plugins found. Install one next to your config, e.g. `npm install @keepsake/plugin-folder`.\n');
    return EXIT.OK;
  }
  for (const p of plugins) {
    stdout.write(`${p.name} ${p.version}${p.compatible ? '' : `  ✗ not usable: ${p.problem}`}\n`);
    for (const [key, label] of KINDS) {
      for (const c of p.manifest?.contributes[key] ?? []) {
        stdout.write(`  ${label.padEnd(9)} ${c.id.padEnd(22)} ${c.title}\n`);
      }
    }
  }
  return plugins.some((p) => !p.compatible) ? EXIT.FAILED : EXIT.OK;
};
