/**
 * `keepsake` entry point. Loads only argv parsing and help text up front; every command's code
 * (and with it @keepsake/core, SQLite and plugins) is a dynamic import, so `--help` stays fast.
 */
import { parseArgv, UsageError } from './args.js';
import { findCommand } from './commands.js';
import { exitCodeFor, formatError, errorJson } from './errors.js';
import { commandHelp, mainHelp } from './help.js';
import { EXIT, type CommandIo } from './io.js';
import { cliVersion } from './version.js';

async function main(argv: string[]): Promise<number> {
  const [word, ...rest] = argv;
  const wantsHelp = (args: string[]) => {
    const end = args.indexOf('--');
    return (end === -1 ? args : args.slice(0, end)).some((a) => a === '-h' || a === '--help');
  };
  if (word === undefined || word === '-h' || word === '--help') {
    process.stdout.write(mainHelp(cliVersion()));
    return word === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (word === '-V' || word === '--version' || word === 'version') {
    process.stdout.write(`${cliVersion()}\n`);
    return EXIT.OK;
  }
  if (word === 'help') {
    const target = rest[0] ? findCommand(rest[0]) : undefined;
    if (rest[0] && !target) return dispatchPluginCommand(rest[0], ['--help']);
    process.stdout.write(target ? commandHelp(target) : mainHelp(cliVersion()));
    return EXIT.OK;
  }
  if (word.startsWith('-')) throw new UsageError(`Unknown option ${word} (options go after the command)`);

  const spec = findCommand(word);
  if (!spec) return dispatchPluginCommand(word, rest);
  if (wantsHelp(rest)) {
    process.stdout.write(commandHelp(spec));
    return EXIT.OK;
  }
  const args = parseArgv(rest, spec.flags, spec.name, spec.collectUnknown);
  const handler = await spec.load();
  return handler(ioFor(args, rest));
}

function ioFor(args: CommandIo['args'], rawArgs: string[]): CommandIo {
  return { args, rawArgs, cwd: process.cwd(), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/** Any other word may be a command a plugin contributes (`keepsake devices`). */
async function dispatchPluginCommand(word: string, rest: string[]): Promise<number> {
  const { pluginCommand } = await import('./commands/plugin-command.js');
  return pluginCommand(word, ioFor({ flags: {}, positionals: [], rest }, rest));
}

// A reader that went away (`keepsake run --json | head`) must not crash a run in the middle of
// copying: further output is dropped and the run finishes (its exit code still tells the result).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

const argv = process.argv.slice(2);
const json = argv.includes('--json');
main(argv).then(
  (code) => finish(code),
  (err: unknown) => {
    if (json) process.stdout.write(`${JSON.stringify(errorJson(err))}\n`);
    process.stderr.write(formatError(err));
    finish(exitCodeFor(err));
  },
);

/** Exits once stdout has drained: plugin sockets or timers must not keep a finished CLI alive. */
function finish(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
}
