/**
 * @keepsake/transport-usb — iPhone over USB: usbmuxd, lockdownd and AFC clients, the `iphone`
 * source and the `devices` command.
 * @packageDocumentation
 */
export { AfcClient, AFC_SERVICE, DEFAULT_AFC_CHUNK, isSafeDeviceName, type AfcFileInfo, type AfcReadOptions } from './afc-client.js';
export * from './afc-protocol.js';
export * from './device-session.js';
export { LockdownClient, type LockdownOptions, type StartedService } from './lockdown-client.js';
export { lockdownError, TRUST_WAIT_CODES } from './lockdown-errors.js';
export * from './lockdown-protocol.js';
export * from './pairing.js';
export { decodePlist, decodePlistDict, encodePlist, isDict, PlistReal, plistError, type PlistDict, type PlistValue } from './plist.js';
export { decodeBinaryPlist, encodeBinaryPlist } from './plist-binary.js';
export { DEFAULT_READ_TIMEOUT_MS, disconnectedError, StreamReader, timeoutError } from './stream-reader.js';
export { waitForTrust, type WaitForTrustOptions } from './trust.js';
export * from './usbmux-address.js';
export { UsbmuxClient, type UsbmuxClientOptions, type UsbmuxDevice, type UsbmuxEvent } from './usbmux-client.js';
export * from './usbmux-protocol.js';
