import { KeepsakeError } from './errors.js';

/** JSON Schema (draft 2020-12 subset) as plain data. */
export type JsonSchema = Record<string, unknown>;

export interface ContributionManifest {
  /** kebab-case id used in config (`use`). */
  id: string;
  title: string;
  description?: string;
  /** JSON Schema of the options; option-less contributions declare `{ "type": "object", "additionalProperties": false }`. */
  options?: JsonSchema;
  /** Defaults merged under the user's options (kept out of the schema on purpose). */
  defaults?: Record<string, unknown>;
  /** Option names holding secrets: redacted in logs and dry runs. */
  secrets?: string[];
}

export interface SinkContributionManifest extends ContributionManifest {
  /** Sink supports `keepsake login`. */
  login?: boolean;
  /** Default for the off-site flag (cloud sinks true). */
  offsite?: boolean;
}

export interface CommandContributionManifest {
  /** Top-level CLI word (`devices`). */
  id: string;
  title: string;
  usage?: string;
}

/** The `keepsake` field of a plugin's package.json (a VS Code-style manifest). */
export interface KeepsakeManifest {
  apiVersion: 1;
  contributes: {
    sources?: ContributionManifest[];
    transforms?: ContributionManifest[];
    sinks?: SinkContributionManifest[];
    commands?: CommandContributionManifest[];
  };
  /** Extra activation triggers; contributions activate their plugin implicitly. */
  activationEvents?: string[];
  /** Tools the plugin needs, for `keepsake doctor` (`ffmpeg`, `heif-convert`, `usbmuxd`). */
  requires?: { tool: string; why: string; optional?: boolean }[];
}

const ID = /^[a-z][a-z0-9-]*$/;

/** Checks a manifest's shape; throws PLUGIN_MANIFEST_INVALID naming the package and the bad field. */
export function validateManifest(pkg: string, value: unknown): KeepsakeManifest {
  const fail = (what: string) =>
    new KeepsakeError('PLUGIN_MANIFEST_INVALID', `${pkg}: package.json "keepsake" field: ${what}`, {
      plugin: pkg,
      hint: 'Fix the plugin manifest or ask its author; see @keepsake/core README "Writing a plugin".',
    });
  if (typeof value !== 'object' || value === null) throw fail('must be an object');
  const m = value as Partial<KeepsakeManifest>;
  if (m.apiVersion !== 1) throw fail(`apiVersion must be 1 (got ${JSON.stringify(m.apiVersion)})`);
  if (typeof m.contributes !== 'object' || m.contributes === null) throw fail('"contributes" must be an object');
  for (const kind of ['sources', 'transforms', 'sinks', 'commands'] as const) {
    const list = m.contributes[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw fail(`contributes.${kind} must be an array`);
    for (const [i, c] of list.entries()) {
      if (typeof c?.id !== 'string' || !ID.test(c.id)) throw fail(`contributes.${kind}[${i}].id must be kebab-case`);
      if (typeof c.title !== 'string') throw fail(`contributes.${kind}[${i}].title must be a string`);
      const opts = (c as ContributionManifest).options;
      if (opts !== undefined && (typeof opts !== 'object' || opts === null)) {
        throw fail(`contributes.${kind}[${i}].options must be a JSON Schema object`);
      }
    }
  }
  return m as KeepsakeManifest;
}
