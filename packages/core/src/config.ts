import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { KeepsakeError } from './errors.js';

/** One step of a pipeline: a contribution id and its options. */
export interface StepConfig {
  use: string;
  with?: Record<string, unknown>;
}

export interface SinkConfig extends StepConfig {
  /** Transforms that run only for this sink, after the pipeline's shared ones. */
  transforms?: StepConfig[];
  /** Marks this destination off-site for 3-2-1 audits (overrides the sink's default). */
  offsite?: boolean;
  /** Max concurrent puts for this sink (default: the sink's capability). */
  concurrency?: number;
}

export interface PipelineConfig {
  source: StepConfig;
  /** Transforms shared by every sink, run once per asset. */
  transforms?: StepConfig[];
  sinks: SinkConfig[];
  /** Assets in flight at once (default: the widest sink's concurrency, at least 4, at most 16). Bounds memory: a slow sink stalls the source. */
  concurrency?: number;
}

export interface KeepsakeConfig {
  /** Ledger file (default: the user's data dir). Relative to the config file. */
  ledger?: string;
  /** Extra plugin package folders, relative to the config file. */
  plugins?: string[];
  pipelines: Record<string, PipelineConfig>;
}

export interface LoadedConfig {
  config: KeepsakeConfig;
  /** Absolute path of the file, or undefined for an in-memory config. */
  path: string | undefined;
  /** Folder relative paths resolve against. */
  dir: string;
}

export const CONFIG_FILE_NAMES = ['keepsake.config.json', 'keepsake.config.yaml', 'keepsake.config.yml'] as const;

/** Finds `keepsake.config.{json,yaml,yml}` in `cwd` (not parents: a config is a deliberate choice). */
export function findConfigFile(cwd: string): string | undefined {
  for (const name of CONFIG_FILE_NAMES) {
    const p = join(cwd, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Reads and structurally checks a config file. Plugin options are checked later by the plugin host. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new KeepsakeError('CONFIG_NOT_FOUND', `Cannot read config file ${abs}: ${(err as Error).message}`, {
      stage: 'config',
      location: abs,
      cause: err,
      hint: 'Create one with `keepsake init`, or pass --config PATH.',
    });
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(abs) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new KeepsakeError('CONFIG_INVALID', `${abs} is not valid ${/\.ya?ml$/i.test(abs) ? 'YAML' : 'JSON'}: ${(err as Error).message}`, {
      stage: 'config',
      location: abs,
      cause: err,
      hint: 'Fix the syntax error at the position given.',
    });
  }
  return { config: checkConfigShape(data, abs), path: abs, dir: dirname(abs) };
}

/** Validates the config's own structure (not plugin options) with precise paths in errors. */
export function checkConfigShape(data: unknown, where = 'config'): KeepsakeConfig {
  const fail = (path: string, what: string) =>
    new KeepsakeError('CONFIG_INVALID', `${where}: ${path} ${what}`, {
      stage: 'config',
      location: `${where}#${path}`,
      hint: 'See `keepsake schema` for the full format, or `keepsake init` for a starter file.',
    });
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(data)) throw fail('(root)', 'must be an object');
  const known = new Set(['$schema', 'ledger', 'plugins', 'pipelines']);
  for (const k of Object.keys(data)) if (!known.has(k)) throw fail(k, 'is not a known setting (ledger, plugins, pipelines)');
  if (data.ledger !== undefined && typeof data.ledger !== 'string') throw fail('ledger', 'must be a path string');
  if (data.plugins !== undefined && (!Array.isArray(data.plugins) || data.plugins.some((p) => typeof p !== 'string'))) {
    throw fail('plugins', 'must be a list of folder paths');
  }
  if (!isObj(data.pipelines) || Object.keys(data.pipelines).length === 0) throw fail('pipelines', 'must name at least one pipeline');
  const step = (v: unknown, path: string): StepConfig => {
    if (!isObj(v)) throw fail(path, 'must be an object like { "use": "folder", "with": { … } }');
    if (typeof v.use !== 'string' || !v.use) throw fail(`${path}.use`, 'must name a source, transform or sink id');
    if (v.with !== undefined && !isObj(v.with)) throw fail(`${path}.with`, 'must be an object of options');
    return v as unknown as StepConfig;
  };
  for (const [name, p] of Object.entries(data.pipelines)) {
    const at = `pipelines.${name}`;
    if (!isObj(p)) throw fail(at, 'must be an object');
    for (const k of Object.keys(p)) {
      if (!['source', 'transforms', 'sinks', 'concurrency'].includes(k)) throw fail(`${at}.${k}`, 'is not a known setting (source, transforms, sinks, concurrency)');
    }
    step(p.source, `${at}.source`);
    if (p.transforms !== undefined) {
      if (!Array.isArray(p.transforms)) throw fail(`${at}.transforms`, 'must be a list');
      for (const [i, t] of p.transforms.entries()) step(t, `${at}.transforms[${i}]`);
    }
    if (!Array.isArray(p.sinks) || p.sinks.length === 0) throw fail(`${at}.sinks`, 'must list at least one sink');
    p.sinks.forEach((s, i) => {
      const sink = step(s, `${at}.sinks[${i}]`) as SinkConfig & Record<string, unknown>;
      for (const k of Object.keys(sink)) {
        if (!['use', 'with', 'transforms', 'offsite', 'concurrency'].includes(k)) throw fail(`${at}.sinks[${i}].${k}`, 'is not a known setting');
      }
      if (sink.transforms !== undefined) {
        if (!Array.isArray(sink.transforms)) throw fail(`${at}.sinks[${i}].transforms`, 'must be a list');
        for (const [j, t] of sink.transforms.entries()) step(t, `${at}.sinks[${i}].transforms[${j}]`);
      }
      if (sink.offsite !== undefined && typeof sink.offsite !== 'boolean') throw fail(`${at}.sinks[${i}].offsite`, 'must be true or false');
      if (sink.concurrency !== undefined && !(Number.isInteger(sink.concurrency) && sink.concurrency > 0)) {
        throw fail(`${at}.sinks[${i}].concurrency`, 'must be a positive integer');
      }
    });
    if (p.concurrency !== undefined && !(Number.isInteger(p.concurrency) && (p.concurrency as number) > 0)) {
      throw fail(`${at}.concurrency`, 'must be a positive integer');
    }
  }
  return data as unknown as KeepsakeConfig;
}

/** Resolves a possibly relative path in config against the config folder (`~` is the home folder). */
export function resolveConfigPath(loaded: Pick<LoadedConfig, 'dir'>, p: string): string {
  return resolveUserPath(loaded.dir, p);
}

/**
 * A path a user wrote (config option, command line): `~` and `~/…` (`~\…` too) mean the home
 * folder, as in a shell — otherwise `"~/Pictures"` became a folder named `~` beside the config —
 * and a relative path is relative to `baseDir`. Plugins resolve their path options with it.
 */
export function resolveUserPath(baseDir: string, p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return join(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/**
 * yaml is loaded only when a YAML config is read. Merge keys (`<<: *nas`) are on: YAML 1.2 drops
 * them, so a sink reused with changed options read as a step without `use`.
 */
function parseYaml(text: string): unknown {
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(text, { merge: true });
}
