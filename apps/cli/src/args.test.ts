import { describe, expect, it } from 'vitest';
import { parseArgv, UsageError } from './args.js';

const specs = {
  config: { type: 'string', short: 'c', value: 'PATH', description: '' },
  json: { type: 'boolean', description: '' },
  'dry-run': { type: 'boolean', short: 'n', description: '' },
} as const;

describe('parseArgv', () => {
  it('parses long, inline, short and boolean flags with positionals in any order', () => {
    const a = parseArgv(['photos', '--config', 'a.json', '--json', '-n'], specs);
    expect(a).toEqual({ flags: { config: 'a.json', json: true, 'dry-run': true }, positionals: ['photos'], rest: [] });
    expect(parseArgv(['--config=b.yaml', 'x'], specs).flags.config).toBe('b.yaml');
    expect(parseArgv(['-c', 'c.json'], specs).flags.config).toBe('c.json');
    expect(parseArgv(['--no-json'], specs).flags.json).toBe(false);
  });

  it('treats everything after -- as positional', () => {
    expect(parseArgv(['--', '--json', '-x'], specs).positionals).toEqual(['--json', '-x']);
  });

  it('rejects unknown options, missing values and values on booleans', () => {
    expect(() => parseArgv(['--bogus'], specs, 'run')).toThrow(UsageError);
    expect(() => parseArgv(['-x'], specs)).toThrow(/Unknown option -x/);
    expect(() => parseArgv(['--config'], specs)).toThrow(/needs a value/);
    expect(() => parseArgv(['--config', '--json'], specs)).toThrow(/needs a value/);
    expect(() => parseArgv(['--json=yes'], specs)).toThrow(/takes no value/);
  });

  it('collects unknown options in order when asked (for plugin arguments)', () => {
    const a = parseArgv(['onedrive', '--device-code', '-c', 'k.json', '--tenant', 'x'], specs, 'login', true);
    expect(a.flags.config).toBe('k.json');
    expect(a.positionals).toEqual(['onedrive', 'x']);
    expect(a.rest).toEqual(['--device-code', '--tenant']);
  });
});
