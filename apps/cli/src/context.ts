/**
 * What most commands share: find and load the config, discover plugins, open the ledger. Loaded
 * lazily by command modules (it imports @keepsake/core).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createFileSecretStore,
  defaultLedgerPath,
  findConfigFile,
  KeepsakeError,
  Ledger,
  type LoadedConfig,
  type Logger,
  loadConfig,
  PluginHost,
  resolveConfigPath,
  type SecretStore,
} from '@keepsake/core';
import { CLI_PACKAGE_JSON } from './version.js';

/** Loads `--config PATH`, else keepsake.config.{json,yaml,yml} in cwd. Throws CONFIG_NOT_FOUND with a hint. */
export async function loadCliConfig(configFlag: string | undefined, cwd: string): Promise<LoadedConfig> {
  const path = configFlag ? resolve(cwd, configFlag) : findConfigFile(cwd);
  if (!path) {
    throw new KeepsakeError('CONFIG_NOT_FOUND', `No keepsake.config.json (or .yaml) in ${cwd}`, {
      stage: 'config',
      location: cwd,
      hint: 'Create one with `keepsake init`, pass --config PATH, or try `keepsake demo` first.',
    });
  }
  return loadConfig(path);
}

/** Like {@link loadCliConfig} but returns undefined when there is no config and none was asked for. */
export async function loadOptionalConfig(configFlag: string | undefined, cwd: string): Promise<LoadedConfig | undefined> {
  if (!configFlag && !findConfigFile(cwd)) return undefined;
  return loadCliConfig(configFlag, cwd);
}

/**
 * Where plugins come from: the CLI's own dependencies (the default plugins), the project's
 * package.json in cwd (plugins the user installed next to their config), and the config's
 * `plugins` folders.
 */
export function pluginSources(loaded: LoadedConfig | undefined, cwd: string): { packageJsonPaths: string[]; pluginDirs: string[] } {
  const packageJsonPaths = [fileURLToPath(CLI_PACKAGE_JSON)];
  const project = join(cwd, 'package.json');
  if (existsSync(project)) packageJsonPaths.push(project);
  if (loaded?.dir && loaded.dir !== cwd && existsSync(join(loaded.dir, 'package.json'))) packageJsonPaths.push(join(loaded.dir, 'package.json'));
  const pluginDirs = (loaded?.config.plugins ?? []).map((p) => resolveConfigPath(loaded!, p));
  return { packageJsonPaths, pluginDirs };
}

export async function discoverPlugins(
  loaded: LoadedConfig | undefined,
  o: { cwd: string; env: NodeJS.ProcessEnv; logger: Logger; secrets?: SecretStore },
): Promise<PluginHost> {
  return PluginHost.discover({ ...pluginSources(loaded, o.cwd), logger: o.logger, secrets: o.secrets ?? createFileSecretStore(), env: o.env });
}

/** Config `ledger` (relative to the config file), else `<data dir>/ledger.sqlite` (KEEPSAKE_DATA_DIR overrides the dir). */
export function ledgerPathFor(loaded: LoadedConfig | undefined, env: NodeJS.ProcessEnv): string {
  if (loaded?.config.ledger) return resolveConfigPath(loaded, loaded.config.ledger);
  return defaultLedgerPath(env);
}

export function openLedger(loaded: LoadedConfig | undefined, env: NodeJS.ProcessEnv): Ledger {
  return Ledger.open(ledgerPathFor(loaded, env));
}

/** The pipeline to run: the named one, or the only one. */
export function pickPipeline(loaded: LoadedConfig, name: string | undefined): string {
  const names = Object.keys(loaded.config.pipelines);
  if (name) {
    if (!names.includes(name)) {
      throw new KeepsakeError('PIPELINE_NOT_FOUND', `No pipeline "${name}" in ${loaded.path ?? 'the config'}`, {
        stage: 'config',
        hint: `Pipelines: ${names.join(', ')}`,
      });
    }
    return name;
  }
  if (names.length === 1) return names[0]!;
  throw new KeepsakeError('PIPELINE_NOT_FOUND', `${loaded.path ?? 'The config'} has ${names.length} pipelines; say which one to run`, {
    stage: 'config',
    hint: `Run one of: ${names.map((n) => `keepsake run ${n}`).join(', ')}`,
  });
}
