/** Lockdown `Error` strings → typed KeepsakeErrors with plain-language hints. */
import { KeepsakeError } from '@keepsake/core';

interface Mapping {
  code: string;
  message: string;
  hint: string;
  retryable?: boolean;
}

const MAPPINGS: Record<string, Mapping> = {
  PairingDialogResponsePending: {
    code: 'DEVICE_TRUST_PENDING',
    message: 'The iPhone is showing "Trust This Computer?"',
    hint: 'Unlock your iPhone and tap Trust (you may need to enter your passcode).',
    retryable: true,
  },
  PasswordProtected: {
    code: 'DEVICE_LOCKED',
    message: 'The iPhone is locked with a passcode',
    hint: 'Unlock your iPhone and keep it unlocked; then tap Trust if it asks.',
    retryable: true,
  },
  UserDeniedPairing: {
    code: 'DEVICE_TRUST_DENIED',
    message: '"Don\'t Trust" was tapped on the iPhone',
    hint: 'Unplug and replug the cable, unlock the iPhone and tap Trust this time.',
  },
  InvalidHostID: {
    code: 'DEVICE_NOT_PAIRED',
    message: 'The iPhone does not recognise this computer (it is not paired, or the pairing was reset)',
    hint: 'Unlock your iPhone, reconnect it and tap Trust; keepsake pairs again automatically.',
  },
  InvalidPairRecord: {
    code: 'DEVICE_NOT_PAIRED',
    message: 'The iPhone rejected this computer\'s pair record',
    hint: 'Unlock your iPhone, reconnect it and tap Trust; keepsake pairs again automatically.',
  },
  PairingProhibitedOverThisConnection: {
    code: 'DEVICE_PAIRING_PROHIBITED',
    message: 'The iPhone does not allow pairing over this connection',
    hint: 'Connect the iPhone with a USB cable (not Wi-Fi) and try again.',
  },
  EscrowLocked: {
    code: 'DEVICE_LOCKED',
    message: 'The iPhone has not been unlocked since it restarted',
    hint: 'Unlock your iPhone once with its passcode and run again.',
    retryable: true,
  },
  SessionInactive: {
    code: 'DEVICE_PROTOCOL_ERROR',
    message: 'The iPhone closed the lockdown session',
    hint: 'Reconnect the iPhone and run again.',
    retryable: true,
  },
  InvalidService: {
    code: 'DEVICE_SERVICE_UNAVAILABLE',
    message: 'The iPhone does not offer the requested service',
    hint: 'Update keepsake; if the iPhone is in recovery mode, restart it normally.',
  },
  ServiceProhibited: {
    code: 'DEVICE_SERVICE_UNAVAILABLE',
    message: 'The iPhone refused to start the service',
    hint: 'Unlock the iPhone and check Settings → Screen Time → Content & Privacy Restrictions.',
  },
  MCProtected: {
    code: 'DEVICE_MANAGED',
    message: 'The iPhone is supervised and its management profile forbids this',
    hint: 'Ask whoever manages the device to allow pairing with computers.',
  },
};

/** The KeepsakeError for a lockdown reply's `Error` value (unknown names keep the raw name). */
export function lockdownError(errorName: string, request: string): KeepsakeError {
  const m = MAPPINGS[errorName];
  if (!m)
    return new KeepsakeError('DEVICE_LOCKDOWN_ERROR', `The iPhone answered ${request} with error "${errorName}"`, {
      hint: 'Unlock the iPhone, reconnect it and run again.',
      pluginCode: errorName,
    });
  return new KeepsakeError(m.code, m.message, {
    hint: m.hint,
    pluginCode: errorName,
    classification: m.retryable ? 'retryable' : 'permanent',
  });
}

/** Codes on which `waitForTrust` keeps waiting for the person holding the phone. */
export const TRUST_WAIT_CODES = new Set(['DEVICE_TRUST_PENDING', 'DEVICE_LOCKED']);
