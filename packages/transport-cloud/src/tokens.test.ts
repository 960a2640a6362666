import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSecretStore } from '@keepsake/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenStore } from './tokens.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-tokens-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('createTokenStore', () => {
  it('two logins sharing the file store save at the same time without an error or a lost token', async () => {
    const secrets = createFileSecretStore(join(dir, 'shared.json'));
    const onedrive = createTokenStore(secrets, 'keepsake:onedrive:x');
    const gphotos = createTokenStore(secrets, 'keepsake:gphotos:y');
    await Promise.all([
      onedrive.save({ accessToken: 'OA', refreshToken: 'OR2', expiresAt: 1 }),
      gphotos.save({ accessToken: 'GA', refreshToken: 'GR', expiresAt: 1 }),
    ]);
    expect(await onedrive.load()).toMatchObject({ refreshToken: 'OR2' });
    expect(await gphotos.load()).toMatchObject({ refreshToken: 'GR' });
  });
});
