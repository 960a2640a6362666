import { KeepsakeError } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import { lockdownError } from './lockdown-errors.js';
import { waitForTrust } from './trust.js';

describe('lockdown errors', () => {
  it('maps the trust-related errors to codes with plain hints', () => {
    expect(lockdownError('PairingDialogResponsePending', 'Pair')).toMatchObject({ code: 'DEVICE_TRUST_PENDING', hint: expect.stringMatching(/tap Trust/) });
    expect(lockdownError('PasswordProtected', 'Pair')).toMatchObject({ code: 'DEVICE_LOCKED', hint: expect.stringMatching(/Unlock your iPhone/) });
    expect(lockdownError('UserDeniedPairing', 'Pair')).toMatchObject({ code: 'DEVICE_TRUST_DENIED' });
    expect(lockdownError('InvalidHostID', 'StartSession')).toMatchObject({ code: 'DEVICE_NOT_PAIRED' });
    expect(lockdownError('SomethingNew', 'GetValue')).toMatchObject({ code: 'DEVICE_LOCKDOWN_ERROR', pluginCode: 'SomethingNew' });
  });
});

describe('waitForTrust', () => {
  it('retries while the dialog is pending and reports each state once', async () => {
    const answers = ['PasswordProtected', 'PairingDialogResponsePending', 'PairingDialogResponsePending'];
    const messages: string[] = [];
    const result = await waitForTrust(
      async () => {
        const next = answers.shift();
        if (next) throw lockdownError(next, 'Pair');
        return 'paired';
      },
      { intervalMs: 1, onProgress: (m) => messages.push(m) },
    );
    expect(result).toBe('paired');
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/locked/);
    expect(messages[1]).toMatch(/Trust/);
  });

  it('gives up after the timeout with the same code', async () => {
    await expect(
      waitForTrust(async () => Promise.reject(lockdownError('PairingDialogResponsePending', 'Pair')), { timeoutMs: 30, intervalMs: 10 }),
    ).rejects.toMatchObject({ code: 'DEVICE_TRUST_PENDING', message: expect.stringMatching(/nobody answered/) });
  });

  it('does not retry a denial or other errors', async () => {
    let calls = 0;
    await expect(
      waitForTrust(async () => {
        calls++;
        throw lockdownError('UserDeniedPairing', 'Pair');
      }),
    ).rejects.toMatchObject({ code: 'DEVICE_TRUST_DENIED' });
    await expect(waitForTrust(async () => Promise.reject(new KeepsakeError('X', 'y')))).rejects.toMatchObject({ code: 'X' });
    expect(calls).toBe(1);
  });
});
