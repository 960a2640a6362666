import type { Logger } from '@keepsake/core';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * A logger that writes through `write` (so lines go above the progress bars instead of through
 * them). Debug lines only with --verbose or KEEPSAKE_LOG=debug.
 */
export function createCliLogger(write: (line: string) => void, level: Level = 'warn', base: Record<string, unknown> = {}): Logger {
  const emit = (l: Level, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[l] < ORDER[level]) return;
    const all = { ...base, ...fields };
    const tail = Object.keys(all).length ? ` ${JSON.stringify(all)}` : '';
    write(`${l === 'info' ? '' : `${l}: `}${message}${tail}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createCliLogger(write, level, { ...base, ...f }),
  };
}

export function logLevelFrom(env: NodeJS.ProcessEnv, verbose: boolean): Level {
  if (verbose) return 'debug';
  const l = env.KEEPSAKE_LOG?.toLowerCase();
  return l === 'debug' || l === 'info' || l === 'warn' || l === 'error' ? l : 'warn';
}
