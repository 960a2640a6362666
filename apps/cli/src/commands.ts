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
  {
    name: 'status',
    summary: 'Is every photo safe? Verified copies per item (0/1/2/3+), off-site copies, what is at risk',
    usage: 'keepsake status [pipeline] [--config PATH] [--min-copies N] [--require-offsite] [--json] [--html FILE]',
    details:
      'An item is protected with at least --min-copies (default 2) verified copies of every part (a Live Photo\n' +
      'counts as its least-copied part), and one off-site with --require-offsite. --html writes one\n' +
      'self-contained page with a per-year chart and the at-risk list. Items prune deleted from their source\n' +
      'stay counted (their copies are the only ones left) and come first in the at-risk list. Reads the ledger only.',
    flags: {
      config: configFlag,
      'min-copies': { type: 'string', value: 'N', description: 'Verified copies an item needs (default 2)' },
      'require-offsite': { type: 'boolean', description: 'Protected also needs an off-site copy' },
      html: { type: 'string', value: 'FILE', description: 'Write the visual report to FILE' },
      json: jsonFlag,
    },
    load: async () => (await import('./commands/status.js')).statusCommand,
  },
  {
    name: 'verify',
    summary: 'Re-check stored copies (re-hash files, compare service hashes); --repair copies bad ones again',
    usage: 'keepsake verify [pipeline] [--config PATH] [--repair] [--json]',
    details:
      'Folder sinks re-hash every stored file; OneDrive compares quickXorHash; Google Photos checks the item\n' +
      'exists; email is reported as unverifiable, never as verified. Missing or corrupt copies stop counting;\n' +
      '--repair moves corrupt copies aside and delivers them again from the source. Exit 0 all good, 1 problems.',
    flags: {
      config: configFlag,
      repair: { type: 'boolean', description: 'Deliver missing/corrupt copies again from the source' },
      json: jsonFlag,
      verbose: { type: 'boolean', short: 'v', description: 'Log plugin debug output to stderr' },
    },
    load: async () => (await import('./commands/verify.js')).verifyCommand,
  },
  {
    name: 'prune',
    summary: 'Free space on the source: delete only items with enough verified copies (re-checked first)',
    usage: 'keepsake prune [pipeline] [--config PATH] [--min-copies N] [--require-offsite] [--older-than D] [--dry-run] [--yes] [--json]',
    details:
      'Every part of an item (still, Live Photo video, edits, .AAE) needs --min-copies (default 2) verified\n' +
      'copies; each copy and the source file are re-checked right before deleting. Asks for confirmation\n' +
      'unless --yes. Never deletes from an iPhone (deleting over AFC leaves the Photos library stale: it\n' +
      'lists what is safe to delete in the Photos app instead) or from an iTunes backup.\n' +
      '--older-than takes 30d, 12w, 6m, 1y or a date like 2024-01-31.',
    flags: {
      config: configFlag,
      'min-copies': { type: 'string', value: 'N', description: 'Verified copies each part needs (default 2)' },
      'require-offsite': { type: 'boolean', description: 'Also need one off-site copy' },
      'older-than': { type: 'string', value: 'D', description: 'Only items taken before D (30d, 6m, 1y, 2024-01-31)' },
      'dry-run': { type: 'boolean', short: 'n', description: 'Show what would be deleted; delete nothing' },
      yes: { type: 'boolean', short: 'y', description: 'Do not ask for confirmation' },
      json: jsonFlag,
      verbose: { type: 'boolean', short: 'v', description: 'Log plugin debug output to stderr' },
    },
    load: async () => (await import('./commands/prune.js')).pruneCommand,
  },
  {
    name: 'watch',
    summary: 'Back up automatically: run pipelines when an iPhone is plugged in or a card appears',
    usage: 'keepsake watch [--config PATH] [--json] [--no-notify]',
    details:
      'Listens to usbmuxd for iPhones and polls card folders under /media, /run/media, /Volumes or D:…;\n' +
      'runs the matching pipelines (one run per device at a time). Unplugging stops the run cleanly; the\n' +
      'next plug-in resumes. A locked phone is retried until it is unlocked. Ctrl-C stops.',
    flags: {
      config: configFlag,
      json: jsonFlag,
      'no-notify': { type: 'boolean', description: 'No desktop notifications' },
      verbose: { type: 'boolean', short: 'v', description: 'Log plugin debug output to stderr' },
    },
    load: async () => (await import('./commands/watch.js')).watchCommand,
  },
  {
    name: 'service',
    summary: 'Install `keepsake watch` as a per-user service (systemd user unit, LaunchAgent, logon task)',
    usage: 'keepsake service install|uninstall|status [--config PATH] [--dry-run] [--platform linux|darwin|win32]',
    details: '--dry-run prints the unit/plist/task and the commands instead of running them.',
    flags: {
      config: configFlag,
      'dry-run': { type: 'boolean', short: 'n', description: 'Print what would be written and run' },
      platform: { type: 'string', value: 'OS', description: 'Show the service for another OS (with --dry-run)' },
    },
    load: async () => (await import('./commands/service.js')).serviceCommand,
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
