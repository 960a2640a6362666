import type { Logger } from './logger.js';
import type { SecretStore } from './secrets.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';
import type { Transform } from './transform.js';

/** Returned by every `register*`; the host awaits `dispose` on deactivation. */
export interface Disposable {
  dispose(): void | Promise<void>;
}

/** What a factory gets besides its (validated, defaults-merged) options. */
export interface FactoryContext {
  logger: Logger;
  secrets: SecretStore;
  /** A folder this plugin may keep state in (pair records, caches). */
  storageDir: string;
  /** Folder of the config file, to resolve relative paths in options. */
  configDir: string;
  /** Pipeline this instance belongs to, when created for one. */
  pipeline?: string;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

export interface SourceContribution<O = Record<string, unknown>> {
  create(options: O, ctx: FactoryContext): Source | Promise<Source>;
}

export interface TransformContribution<O = Record<string, unknown>> {
  create(options: O, ctx: FactoryContext): Transform | Promise<Transform>;
}

/** Terminal I/O and context for interactive plugin code (login, commands). */
export interface CommandContext extends FactoryContext {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Whether stdout is an interactive terminal. */
  interactive: boolean;
  /** Loaded config file path, when there is one. */
  configPath?: string;
}

export interface SinkContribution<O = Record<string, unknown>> {
  create(options: O, ctx: FactoryContext): Sink | Promise<Sink>;
  /** `keepsake login <sink>`: obtain and store credentials for this configured sink. */
  login?(options: O, ctx: CommandContext & { args: string[] }): Promise<void>;
  /** `keepsake logout <sink>`: forget stored credentials. */
  logout?(options: O, ctx: CommandContext): Promise<void>;
}

/** A CLI command contributed by a plugin (`keepsake devices`, `keepsake backups`). Returns the exit code. */
export interface CommandContributionImpl {
  run(args: string[], ctx: CommandContext): Promise<number>;
}

export interface Registry<T> {
  register(id: string, contribution: T): Disposable;
}

/** The only door from a plugin to the host. Passed to `activate`. */
export interface PluginContext {
  readonly pluginName: string;
  readonly hostVersion: string;
  readonly logger: Logger;
  readonly storageDir: string;
  readonly secrets: SecretStore;
  readonly sources: Registry<SourceContribution<any>>;
  readonly transforms: Registry<TransformContribution<any>>;
  readonly sinks: Registry<SinkContribution<any>>;
  readonly commands: Registry<CommandContributionImpl>;
  /** Disposables released (awaited) when the plugin is deactivated. */
  readonly subscriptions: Disposable[];
}

export interface PluginDefinition {
  activate(ctx: PluginContext): void | Promise<void>;
  deactivate?(): void | Promise<void>;
}

export const PLUGIN_BRAND = '@keepsake/Plugin';
export const PLUGIN_API_VERSION = 1;

export interface KeepsakePlugin extends PluginDefinition {
  readonly $$type: typeof PLUGIN_BRAND;
  readonly apiVersion: typeof PLUGIN_API_VERSION;
}

/** A plugin entry's default export. Checked structurally by the host, never with `instanceof`. */
export function definePlugin(definition: PluginDefinition): KeepsakePlugin {
  return Object.freeze({ $$type: PLUGIN_BRAND, apiVersion: PLUGIN_API_VERSION, ...definition });
}

export function isKeepsakePlugin(value: unknown): value is KeepsakePlugin {
  const v = value as KeepsakePlugin | undefined;
  return !!v && v.$$type === PLUGIN_BRAND && typeof v.activate === 'function';
}
