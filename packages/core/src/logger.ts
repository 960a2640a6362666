/** Minimal structured logger the host gives plugins; the CLI decides where lines go. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry `fields` too. */
  child(fields: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Writes `level message {json}` lines to stderr, at or above `level`. */
export function createConsoleLogger(level: 'debug' | 'info' | 'warn' | 'error' = 'info', base: Record<string, unknown> = {}): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  const write = (l: keyof typeof order, message: string, fields?: Record<string, unknown>) => {
    if (order[l] < order[level]) return;
    const all = { ...base, ...fields };
    const tail = Object.keys(all).length ? ` ${JSON.stringify(all)}` : '';
    process.stderr.write(`${l} ${message}${tail}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (f) => createConsoleLogger(level, { ...base, ...f }),
  };
}
