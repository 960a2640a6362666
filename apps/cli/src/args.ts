/**
 * A small argv parser: long flags (`--config P`, `--config=P`), short aliases (`-c P`), booleans,
 * `--` ends flags. Kept dependency-free so `keepsake --help` loads nothing but this file.
 */

export interface FlagSpec {
  type: 'boolean' | 'string';
  short?: string;
  /** Placeholder in help (`PATH`). */
  value?: string;
  description: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface ParsedArgs {
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Unknown options, kept in order when parsing with `collectUnknown` (handed on to a plugin). */
  rest: string[];
}

/** A mistake on the command line: exit code 2 and the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export function parseArgv(argv: readonly string[], specs: FlagSpecs, command?: string, collectUnknown = false): ParsedArgs {
  const flags: ParsedArgs['flags'] = {};
  const positionals: string[] = [];
  const rest: string[] = [];
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      (collectUnknown ? rest : positionals).push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      if (!(name in specs) && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean' && inline === undefined) {
        flags[name.slice(3)] = false;
        continue;
      }
    } else if (arg.startsWith('-') && arg.length === 2 && arg !== '-') {
      name = byShort.get(arg.slice(1));
      if (!name) {
        if (collectUnknown) {
          rest.push(arg);
          continue;
        }
        throw new UsageError(`Unknown option ${arg}`, command);
      }
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name];
    if (!spec) {
      if (collectUnknown) {
        rest.push(arg);
        continue;
      }
      throw new UsageError(`Unknown option --${name}`, command);
    }
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`Option --${name} takes no value`, command);
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('-') && value.length > 1)) {
      throw new UsageError(`Option --${name} needs a value${spec.value ? ` (${spec.value})` : ''}`, command);
    }
    flags[name] = value;
  }
  return { flags, positionals, rest };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function boolFlag(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}
