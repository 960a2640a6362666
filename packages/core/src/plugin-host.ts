import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadedConfig, StepConfig } from './config.js';
import { KeepsakeError, wrapPluginError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import { type ContributionManifest, type JsonSchema, type KeepsakeManifest, validateManifest } from './manifest.js';
import { dataDir } from './paths.js';
import {
  type CommandContributionImpl,
  type Disposable,
  type FactoryContext,
  isKeepsakePlugin,
  type KeepsakePlugin,
  type PluginContext,
  type Registry,
  type SinkContribution,
  type SourceContribution,
  type TransformContribution,
} from './plugin.js';
import { createFileSecretStore, type SecretStore } from './secrets.js';
import { satisfies } from './semver-range.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';
import type { Transform } from './transform.js';
import { validateOptions } from './options.js';
import { CORE_VERSION } from './version.js';

export type ContributionKind = 'source' | 'transform' | 'sink' | 'command';

/** A plugin package found by discovery. Its code is not loaded until a pipeline needs it. */
export interface PluginRecord {
  name: string;
  version: string;
  dir: string;
  manifest?: KeepsakeManifest;
  /** engines.keepsake range, if declared. */
  engine?: string;
  compatible: boolean;
  /** Why the plugin cannot be used (bad manifest, incompatible engine). */
  problem?: string;
  origin: 'dependency' | 'path';
}

export interface ContributionEntry {
  id: string;
  kind: ContributionKind;
  plugin: PluginRecord;
  manifest: ContributionManifest;
}

export interface DiscoverOptions {
  /** package.json files whose dependencies are scanned for plugins (the CLI's own, the project's). */
  packageJsonPaths?: string[];
  /** Plugin package folders given directly (config `plugins`). */
  pluginDirs?: string[];
  logger?: Logger;
  secrets?: SecretStore;
  env?: NodeJS.ProcessEnv;
  hostVersion?: string;
}

interface ActivePlugin {
  sources: Map<string, SourceContribution<any>>;
  transforms: Map<string, TransformContribution<any>>;
  sinks: Map<string, SinkContribution<any>>;
  commands: Map<string, CommandContributionImpl>;
  plugin: KeepsakePlugin;
  subscriptions: Disposable[];
}

const KIND_KEY = { source: 'sources', transform: 'transforms', sink: 'sinks', command: 'commands' } as const;

/**
 * Finds plugins from package.json `keepsake` manifests (declared dependencies and explicit paths —
 * never a node_modules crawl), lists their contributions without importing code, validates options
 * against contributed schemas, and activates a plugin on first use (once; failures are recorded).
 */
export class PluginHost {
  readonly hostVersion: string;
  readonly logger: Logger;
  readonly secrets: SecretStore;
  readonly env: NodeJS.ProcessEnv;
  private readonly records: PluginRecord[];
  private readonly index = new Map<string, ContributionEntry>();
  private readonly active = new Map<string, Promise<ActivePlugin>>();

  private constructor(records: PluginRecord[], o: DiscoverOptions) {
    this.records = records;
    this.hostVersion = o.hostVersion ?? CORE_VERSION;
    this.logger = o.logger ?? silentLogger;
    this.secrets = o.secrets ?? createFileSecretStore();
    this.env = o.env ?? process.env;
    for (const rec of records) {
      if (!rec.manifest || !rec.compatible) continue;
      for (const kind of ['source', 'transform', 'sink', 'command'] as const) {
        for (const c of (rec.manifest.contributes[KIND_KEY[kind]] ?? []) as ContributionManifest[]) {
          const key = `${kind}:${c.id}`;
          const prev = this.index.get(key);
          if (prev) {
            this.logger.warn(`${kind} "${c.id}" is contributed by both ${prev.plugin.name} and ${rec.name}; using ${prev.plugin.name}`);
            continue;
          }
          this.index.set(key, { id: c.id, kind, plugin: rec, manifest: c });
        }
      }
    }
  }

  /** Reads manifests only; imports no plugin code. */
  static async discover(options: DiscoverOptions = {}): Promise<PluginHost> {
    const hostVersion = options.hostVersion ?? CORE_VERSION;
    const seen = new Set<string>();
    const records: PluginRecord[] = [];
    const consider = (pkgJson: string, origin: PluginRecord['origin']) => {
      const dir = dirname(pkgJson);
      if (seen.has(dir)) return;
      seen.add(dir);
      const rec = readPluginRecord(pkgJson, origin, hostVersion);
      if (rec) records.push(rec);
    };
    for (const p of options.packageJsonPaths ?? []) {
      if (!existsSync(p)) continue;
      let pkg: { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
      try {
        pkg = JSON.parse(readFileSync(p, 'utf8'));
      } catch (err) {
        throw new KeepsakeError('CONFIG_INVALID', `Cannot read ${p}: ${(err as Error).message}`, {
          stage: 'plugin',
          location: p,
          cause: err,
          hint: 'keepsake reads this package.json to find installed plugins; fix its JSON.',
        });
      }
      consider(p, 'dependency'); // a project that is itself a plugin
      const req = createRequire(p);
      for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
        const found = resolvePackageJson(req, dep, dirname(p));
        if (found) consider(found, 'dependency');
      }
    }
    for (const d of options.pluginDirs ?? []) {
      const pj = join(resolve(d), 'package.json');
      if (!existsSync(pj)) {
        throw new KeepsakeError('PLUGIN_NOT_FOUND', `No package.json in plugin folder ${resolve(d)}`, {
          stage: 'plugin',
          location: d,
          hint: 'Fix the path in the config "plugins" list.',
        });
      }
      consider(pj, 'path');
    }
    return new PluginHost(records, options);
  }

  plugins(): PluginRecord[] {
    return [...this.records];
  }

  contributions(kind: ContributionKind): ContributionEntry[] {
    return [...this.index.values()].filter((e) => e.kind === kind);
  }

  contribution(kind: ContributionKind, id: string): ContributionEntry | undefined {
    return this.index.get(`${kind}:${id}`);
  }

  private require(kind: ContributionKind, id: string, where: string): ContributionEntry {
    const entry = this.contribution(kind, id);
    if (entry) return entry;
    const known = this.contributions(kind).map((e) => e.id);
    const broken = this.records.find((r) => !r.compatible && r.manifest?.contributes[KIND_KEY[kind]]?.some((c) => c.id === id));
    if (broken) {
      throw new KeepsakeError('PLUGIN_INCOMPATIBLE', `${kind} "${id}" (${where}) comes from ${broken.name}@${broken.version}, which cannot be used: ${broken.problem}`, {
        stage: 'plugin',
        plugin: broken.name,
        location: where,
        hint: `Install a version of ${broken.name} made for keepsake core ${this.hostVersion}.`,
      });
    }
    throw new KeepsakeError('PLUGIN_NOT_FOUND', `Unknown ${kind} "${id}" at ${where}`, {
      stage: 'plugin',
      location: where,
      hint: known.length
        ? `Installed ${kind}s: ${known.join(', ')}. Install the plugin that provides "${id}" or fix the name.`
        : `No installed plugin provides a ${kind}; install one (e.g. @keepsake/plugin-folder).`,
    });
  }

  /** Options for a step: defaults merged under the user's, validated against the contributed schema. */
  resolveOptions(kind: Exclude<ContributionKind, 'command'>, step: StepConfig, where: string): Record<string, unknown> {
    const entry = this.require(kind, step.use, `${where}.use`);
    return validateOptions(entry.manifest, step.with ?? {}, `${where}.with`, entry.plugin.name);
  }

  /** Checks every pipeline's steps exist and their options are valid, before anything runs. */
  validateConfig(loaded: LoadedConfig): void {
    for (const [name, p] of Object.entries(loaded.config.pipelines)) {
      const at = `pipelines.${name}`;
      this.resolveOptions('source', p.source, `${at}.source`);
      for (const [i, t] of (p.transforms ?? []).entries()) this.resolveOptions('transform', t, `${at}.transforms[${i}]`);
      for (const [i, s] of p.sinks.entries()) {
        this.resolveOptions('sink', s, `${at}.sinks[${i}]`);
        for (const [j, t] of (s.transforms ?? []).entries()) this.resolveOptions('transform', t, `${at}.sinks[${i}].transforms[${j}]`);
      }
    }
  }

  /** JSON Schema of the config file for the installed plugins (`keepsake schema`). */
  configSchema(): JsonSchema {
    const stepSchema = (kind: Exclude<ContributionKind, 'command'>, extra: Record<string, JsonSchema> = {}) => ({
      oneOf: this.contributions(kind).map((e) => ({
        type: 'object',
        title: e.manifest.title,
        description: e.manifest.description ?? `${e.manifest.title} (${e.plugin.name})`,
        properties: { use: { const: e.id }, with: e.manifest.options ?? { type: 'object' }, ...extra },
        required: ['use'],
        additionalProperties: false,
      })),
    });
    const transform = stepSchema('transform');
    return {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'keepsake configuration',
      type: 'object',
      properties: {
        $schema: { type: 'string' },
        ledger: { type: 'string', description: 'Ledger file path (default: the user data dir)' },
        plugins: { type: 'array', items: { type: 'string' }, description: 'Extra plugin package folders' },
        pipelines: {
          type: 'object',
          minProperties: 1,
          additionalProperties: {
            type: 'object',
            properties: {
              source: stepSchema('source'),
              transforms: { type: 'array', items: transform },
              sinks: {
                type: 'array',
                minItems: 1,
                items: stepSchema('sink', {
                  transforms: { type: 'array', items: transform },
                  offsite: { type: 'boolean', description: 'Count this destination as off-site (3-2-1)' },
                  concurrency: { type: 'integer', minimum: 1 },
                }),
              },
              concurrency: { type: 'integer', minimum: 1, description: 'Assets in flight at once (default 4)' },
            },
            required: ['source', 'sinks'],
            additionalProperties: false,
          },
        },
      },
      required: ['pipelines'],
      additionalProperties: false,
    };
  }

  private activate(rec: PluginRecord): Promise<ActivePlugin> {
    let p = this.active.get(rec.name);
    if (!p) {
      p = this.doActivate(rec);
      this.active.set(rec.name, p);
    }
    return p;
  }

  private async doActivate(rec: PluginRecord): Promise<ActivePlugin> {
    const fail = (message: string, cause?: unknown) =>
      new KeepsakeError('PLUGIN_ACTIVATION_FAILED', `${rec.name}@${rec.version}: ${message}`, {
        stage: 'plugin',
        plugin: rec.name,
        cause,
        hint: 'Reinstall the plugin; if it persists, report it to the plugin author with this message.',
      });
    const entry = pluginEntry(rec.dir);
    if (!entry) throw fail('package.json has no entry point ("exports" "." or "main")');
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(entry).href)) as { default?: unknown };
    } catch (err) {
      throw fail(`cannot load ${entry}: ${(err as Error).message}`, err);
    }
    const plugin = mod.default;
    if (!isKeepsakePlugin(plugin)) throw fail('its default export is not a plugin made with definePlugin()');
    if (plugin.apiVersion !== 1) throw fail(`plugin API version ${plugin.apiVersion} is not supported (core supports 1)`);
    const active: ActivePlugin = { sources: new Map(), transforms: new Map(), sinks: new Map(), commands: new Map(), plugin, subscriptions: [] };
    const declared = (kind: ContributionKind) => new Set((rec.manifest?.contributes[KIND_KEY[kind]] ?? []).map((c) => c.id));
    const registry = <T>(kind: ContributionKind, map: Map<string, T>): Registry<T> => ({
      register: (id, contribution) => {
        if (!declared(kind).has(id)) throw fail(`registers ${kind} "${id}", which its package.json "keepsake.contributes" does not declare`);
        if (map.has(id)) throw fail(`registers ${kind} "${id}" twice`);
        map.set(id, contribution);
        const d = { dispose: () => void map.delete(id) };
        active.subscriptions.push(d);
        return d;
      },
    });
    const ctx: PluginContext = {
      pluginName: rec.name,
      hostVersion: this.hostVersion,
      logger: this.logger.child({ plugin: rec.name }),
      storageDir: join(dataDir(this.env), 'plugins', rec.name.replace(/[/@]/g, '_')),
      secrets: this.secrets,
      sources: registry('source', active.sources),
      transforms: registry('transform', active.transforms),
      sinks: registry('sink', active.sinks),
      commands: registry('command', active.commands),
      subscriptions: active.subscriptions,
    };
    try {
      await plugin.activate(ctx);
    } catch (err) {
      if ((err as KeepsakeError).code === 'PLUGIN_ACTIVATION_FAILED') throw err;
      throw fail(`activate() threw: ${(err as Error).message}`, err);
    }
    for (const kind of ['source', 'transform', 'sink', 'command'] as const) {
      const map = { source: active.sources, transform: active.transforms, sink: active.sinks, command: active.commands }[kind];
      for (const id of declared(kind)) if (!map.has(id)) throw fail(`declares ${kind} "${id}" but did not register it in activate()`);
    }
    return active;
  }

  private factoryContext(plugin: PluginRecord, base: Partial<FactoryContext>): FactoryContext {
    return {
      logger: (base.logger ?? this.logger).child({ plugin: plugin.name }),
      secrets: base.secrets ?? this.secrets,
      storageDir: join(dataDir(this.env), 'plugins', plugin.name.replace(/[/@]/g, '_')),
      configDir: base.configDir ?? process.cwd(),
      pipeline: base.pipeline,
      signal: base.signal ?? new AbortController().signal,
      env: base.env ?? this.env,
    };
  }

  async createSource(step: StepConfig, where: string, ctx: Partial<FactoryContext> = {}): Promise<Source> {
    const options = this.resolveOptions('source', step, where);
    const entry = this.contribution('source', step.use)!;
    const active = await this.activate(entry.plugin);
    try {
      return await active.sources.get(step.use)!.create(options, this.factoryContext(entry.plugin, ctx));
    } catch (err) {
      throw wrapPluginError(err, { plugin: entry.plugin.name, contribution: step.use, stage: 'scan', location: where });
    }
  }

  async createTransform(step: StepConfig, where: string, ctx: Partial<FactoryContext> = {}): Promise<Transform> {
    const options = this.resolveOptions('transform', step, where);
    const entry = this.contribution('transform', step.use)!;
    const active = await this.activate(entry.plugin);
    try {
      return await active.transforms.get(step.use)!.create(options, this.factoryContext(entry.plugin, ctx));
    } catch (err) {
      throw wrapPluginError(err, { plugin: entry.plugin.name, contribution: step.use, stage: 'transform', location: where });
    }
  }

  async createSink(step: StepConfig, where: string, ctx: Partial<FactoryContext> = {}): Promise<Sink> {
    const options = this.resolveOptions('sink', step, where);
    const entry = this.contribution('sink', step.use)!;
    const active = await this.activate(entry.plugin);
    try {
      return await active.sinks.get(step.use)!.create(options, this.factoryContext(entry.plugin, ctx));
    } catch (err) {
      throw wrapPluginError(err, { plugin: entry.plugin.name, contribution: step.use, stage: 'put', location: where });
    }
  }

  /** The sink contribution (for `login`/`logout`) and a factory context for it. */
  async sinkContribution(id: string, ctx: Partial<FactoryContext> = {}): Promise<{ contribution: SinkContribution<any>; manifest: ContributionManifest; context: FactoryContext }> {
    const entry = this.require('sink', id, `sink "${id}"`);
    const active = await this.activate(entry.plugin);
    return { contribution: active.sinks.get(id)!, manifest: entry.manifest, context: this.factoryContext(entry.plugin, ctx) };
  }

  /** A plugin-contributed CLI command, activating its plugin; undefined when no plugin declares it. */
  async command(id: string): Promise<CommandContributionImpl | undefined> {
    const entry = this.contribution('command', id);
    if (!entry) return undefined;
    const active = await this.activate(entry.plugin);
    return active.commands.get(id);
  }

  /** Deactivates every active plugin (awaited), releasing its registrations. */
  async dispose(): Promise<void> {
    for (const [name, p] of this.active) {
      const a = await p.catch(() => undefined);
      if (!a) continue;
      try {
        await a.plugin.deactivate?.();
      } catch (err) {
        this.logger.warn(`deactivate() of ${name} failed: ${(err as Error).message}`);
      }
      for (const d of a.subscriptions.splice(0)) await d.dispose();
    }
    this.active.clear();
  }
}

function resolvePackageJson(req: NodeJS.Require, dep: string, fromDir: string): string | undefined {
  try {
    return req.resolve(`${dep}/package.json`);
  } catch {
    // packages that do not export ./package.json: look in the nearest node_modules folders
    for (let dir = fromDir; ; dir = dirname(dir)) {
      const p = join(dir, 'node_modules', dep, 'package.json');
      if (existsSync(p)) return p;
      if (dirname(dir) === dir) return undefined;
    }
  }
}

function readPluginRecord(pkgJson: string, origin: PluginRecord['origin'], hostVersion: string): PluginRecord | undefined {
  let pkg: { name?: string; version?: string; keepsake?: unknown; engines?: { keepsake?: string } };
  try {
    pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  } catch {
    return undefined;
  }
  if (pkg.keepsake === undefined) return undefined;
  const rec: PluginRecord = {
    name: pkg.name ?? dirname(pkgJson),
    version: pkg.version ?? '0.0.0',
    dir: dirname(pkgJson),
    engine: pkg.engines?.keepsake,
    compatible: true,
    origin,
  };
  try {
    rec.manifest = validateManifest(rec.name, pkg.keepsake);
  } catch (err) {
    rec.compatible = false;
    rec.problem = (err as Error).message;
    return rec;
  }
  if (rec.engine && !satisfies(hostVersion, rec.engine)) {
    rec.compatible = false;
    rec.problem = `needs keepsake core ${rec.engine}, this is ${hostVersion}`;
  }
  return rec;
}

function pluginEntry(dir: string): string | undefined {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports?: string | Record<string, unknown>;
    main?: string;
  };
  const exp = pkg.exports;
  // an exports object is either subpaths ('.', './x') or conditions for '.' alone
  const dot = typeof exp === 'string' || Array.isArray(exp) ? exp : exp && Object.keys(exp).some((k) => k.startsWith('.')) ? exp['.'] : exp;
  const rel = dot !== undefined ? esmTarget(dot) : pkg.main;
  return rel ? join(dir, rel) : undefined;
}

/**
 * The file an `exports` target resolves to for `import` in Node: conditions are nested
 * (`{ import: { types, default } }`) and tried in the package's own order, fallback arrays in turn.
 */
function esmTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const r = esmTarget(t);
      if (r) return r;
    }
    return undefined;
  }
  if (!target || typeof target !== 'object') return undefined;
  for (const [cond, t] of Object.entries(target)) {
    if (cond === 'import' || cond === 'node' || cond === 'default' || cond === 'module-sync') {
      const r = esmTarget(t);
      if (r) return r;
    }
  }
  return undefined;
}
