import type { FlagSpecs } from './args.js';
import type { CommandHandler } from './io.js';

/** Metadata for a built-in command. `load` is a dynamic import, so a command's code loads only when it runs. */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Longer help text shown by `keepsake <command> --help`. */
  details?: string;
  flags: FlagSpecs;
  /** Keep unknown options in `args.rest` instead of failing (`login` hands them to the plugin). */
  collectUnknown?: boolean;
  load(): Promise<CommandHandler>;
}

const configFlag = { type: 'string', short: 'c', value: 'PATH', description: 'Config file (default: keepsake.config.json|yaml in the current folder)' } as const;
const jsonFlag = { type: 'boolean', description: 'Machine-readable output (NDJSON events / JSON) on stdout' } as const;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    summary: 'Run a pipeline from the config: copy new items to every sink and verify them',
    usage: 'keepsake run [pipeline] [--config PATH] [--dry-run] [--json]',
    details:
      'Without a pipeline name, runs the only pipeline in the config (or lists the names when there are several).\n' +
      'Items already verified in a sink are skipped without reading their bytes. Ctrl-C stops after the item in\n' +
      'flight (it is finished or rolled back); a second Ctrl-C quits at once. A rerun resumes where it stopped.',
    flags: {
      config: configFlag,
      'dry-run': { type: 'boolean', short: 'n', description: 'Show what would be copied; write nothing' },
      json: jsonFlag,
      verbose: { type: 'boolean', short: 'v', description: 'Log plugin debug output to stderr' },
    },
    load: async () => (await import('./commands/run.js')).runCommand,
  },
  {
    name: 'demo',
    summary: 'Try keepsake on a sample camera roll (simulated iPhone when available) into a folder',
    usage: 'keepsake demo [--out DIR] [--json]',
    details:
      'Copies a sample camera roll into DIR (default: a new temp folder) with its own throwaway ledger,\n' +
      'then prints the report. Uses the simulated iPhone from @keepsake/device-sim when it is installed.',
    flags: {
      out: { type: 'string', short: 'o', value: 'DIR', description: 'Destination folder (default: a new temp folder)' },
      json: jsonFlag,
    },
    load: async () => (await import('./commands/demo.js')).demoCommand,
  },
  {
    name: 'init',
    summary: 'Write a starter keepsake.config.json in the current folder',
    usage: 'keepsake init [--source iphone|folder] [--from DIR] [--to DIR] [--config PATH]',
    details: 'Never overwrites an existing config file.',
    flags: {
      source: { type: 'string', value: 'iphone|folder', description: 'Where photos come from (default: iphone)' },
      from: { type: 'string', value: 'DIR', description: 'Folder to read (with --source folder)' },
      to: { type: 'string', value: 'DIR', description: 'Folder to copy into (default: ./Photos)' },
      config: { ...configFlag, description: 'Where to write the config (default: ./keepsake.config.json)' },
    },
    load: async () => (await import('./commands/init.js')).initCommand,
  },
  {
    name: 'plugins',
    summary: 'List installed plugins and what they contribute',
    usage: 'keepsake plugins [--config PATH] [--json]',
    flags: { config: configFlag, json: jsonFlag },
    load: async () => (await import('./commands/plugins.js')).pluginsCommand,
  },
  {
    name: 'schema',
    summary: 'Print the JSON Schema of keepsake.config.json for the installed plugins',
    usage: 'keepsake schema [--config PATH]',
    details: 'Point "$schema" in your config at the saved output to get completion in your editor.',
    flags: { config: configFlag },
    load: async () => (await import('./commands/schema.js')).schemaCommand,
  },
  {
    name: 'doctor',
    summary: 'Check this machine: Node, ledger, and the tools plugins need (ffmpeg, libheif, usbmuxd)',
    usage: 'keepsake doctor [--config PATH] [--json]',
    flags: { config: configFlag, json: jsonFlag },
    load: async () => (await import('./commands/doctor.js')).doctorCommand,
  },
  {
    name: 'login',
    summary: 'Sign in to a configured sink (OneDrive, Google Photos, email…)',
    usage: 'keepsake login <sink-id> [--config PATH] [-- plugin arguments]',
    details: 'Finds the sink whose "use" is <sink-id> in the config and runs its sign-in. Tokens go to the token store, never the config.',
    flags: { config: configFlag },
    collectUnknown: true,
    load: async () => (await import('./commands/login.js')).loginCommand,
  },
  {
    name: 'logout',
    summary: 'Forget the stored sign-in of a configured sink',
    usage: 'keepsake logout <sink-id> [--config PATH]',
    flags: { config: configFlag },
    load: async () => (await import('./commands/login.js')).logoutCommand,
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
