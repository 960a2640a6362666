import type { ParsedArgs } from './args.js';

/** Everything a command handler touches from the outside world, so tests can pass their own. */
export interface CommandIo {
  args: ParsedArgs;
  /** Arguments after the command word, unparsed (plugin commands parse their own). */
  rawArgs: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Returns the process exit code. */
export type CommandHandler = (io: CommandIo) => Promise<number>;

/** Exit codes, documented in README.md. */
export const EXIT = {
  OK: 0,
  /** Some items failed (the rest were delivered), or a runtime error stopped the command. */
  FAILED: 1,
  /** Bad command line or configuration: nothing ran. */
  USAGE: 2,
  /** Interrupted with Ctrl-C (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;
