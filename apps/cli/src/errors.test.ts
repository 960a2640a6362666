import { KeepsakeError } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { UsageError } from './args.js';
import { errorJson, exitCodeFor, formatError } from './errors.js';

describe('exit codes and error text', () => {
  it('maps usage and config errors to 2, interrupts to 130, the rest to 1', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    for (const code of ['CONFIG_NOT_FOUND', 'CONFIG_INVALID', 'PIPELINE_NOT_FOUND', 'OPTION_INVALID', 'PLUGIN_NOT_FOUND', 'PLUGIN_INCOMPATIBLE']) {
      expect(exitCodeFor(new KeepsakeError(code, 'x'))).toBe(2);
    }
    expect(exitCodeFor(new KeepsakeError('ABORTED', 'x'))).toBe(130);
    expect(exitCodeFor(new KeepsakeError('LEDGER_ERROR', 'x'))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
  });

  it('prints code, message, location and hint; JSON keeps them', () => {
    const e = new KeepsakeError('OPTION_INVALID', 'pipelines.p.sinks[0].with.tempalte is not an option', { location: 'keepsake.config.json', hint: 'See keepsake schema.' });
    expect(formatError(e)).toBe('error OPTION_INVALID: pipelines.p.sinks[0].with.tempalte is not an option\n  at: keepsake.config.json\n  hint: See keepsake schema.\n');
    expect(errorJson(e)).toMatchObject({ type: 'error', error: { code: 'OPTION_INVALID', hint: 'See keepsake schema.' } });
    expect(formatError(new UsageError('Unknown option --x', 'run'))).toContain('keepsake run --help');
  });
});
