import { describe, expect, it } from 'vitest';
import { satisfies } from './semver-range.js';

describe('satisfies', () => {
  it.each([
    ['0.1.0', '^0.1.0', true],
    ['0.1.5', '^0.1.0', true],
    ['0.2.0', '^0.1.0', false],
    ['1.4.0', '^1.2.0', true],
    ['2.0.0', '^1.2.0', false],
    ['1.2.9', '~1.2.0', true],
    ['1.3.0', '~1.2.0', false],
    ['3.0.0', '>=1.0.0 <3.0.0', false],
    ['2.9.9', '>=1.0.0 <3.0.0', true],
    ['5.0.0', '^1.0.0 || ^5.0.0', true],
    ['1.0.0', '*', true],
    ['1.0.0', 'nonsense', false],
  ])('%s in %s → %s', (v, r, ok) => expect(satisfies(v, r)).toBe(ok));
});
