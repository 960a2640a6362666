import { registerHash } from '@keepsake/core';
import { QuickXorHash } from './quick-xor-hash.js';

/** Makes `quickXorHash` available to core's hashers (hashingTap, createHasher). Idempotent. */
export function registerQuickXorHash(): void {
  registerHash('quickXorHash', () => new QuickXorHash());
}
