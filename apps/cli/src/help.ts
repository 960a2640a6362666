import type { FlagSpecs } from './args.js';
import { COMMANDS, type CommandSpec } from './commands.js';

function flagLines(flags: FlagSpecs): string[] {
  const rows = Object.entries(flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : '    '}--${name}${f.value ? ` ${f.value}` : ''}`;
    return [left, f.description] as const;
  });
  rows.push(['-h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`);
}

export function mainHelp(version: string): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `keepsake ${version} — get your iPhone's photos and videos safely into folders and clouds`,
    '',
    'Usage: keepsake <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Plugins add more commands (e.g. `keepsake devices`, `keepsake backups`); `keepsake plugins` lists them.',
    '',
    'Options:',
    '  -h, --help     Show help (`keepsake <command> --help` for a command)',
    '  -V, --version  Print the version',
    '',
    'Start with `keepsake demo`, then `keepsake init` and `keepsake run`.',
    'Exit codes: 0 all good, 1 some items failed, 2 usage or config error, 130 interrupted.',
    '',
  ].join('\n');
}

export function commandHelp(c: CommandSpec): string {
  return [`Usage: ${c.usage}`, '', c.summary + '.', ...(c.details ? ['', c.details] : []), '', 'Options:', ...flagLines(c.flags), ''].join(
    '\n',
  );
}
