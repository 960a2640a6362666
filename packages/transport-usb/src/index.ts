/**
 * @keepsake/transport-usb — iPhone over USB: usbmuxd, lockdownd and AFC clients, the `iphone`
 * source and the `devices` command.
 * @packageDocumentation
 */
import { definePlugin } from '@keepsake/core';
import { devicesCommand } from './devices-command.js';
import { createIphoneSource } from './iphone-source.js';

export interface IphoneSourceConfig {
  udid?: string;
  name?: string;
  transport?: 'usbmuxd' | 'usb';
  trustTimeoutSeconds?: number;
  readTimeoutSeconds?: number;
}

export default definePlugin({
  activate(ctx) {
    ctx.sources.register('iphone', {
      create: (options: IphoneSourceConfig, fctx) =>
        createIphoneSource({ ...options, env: fctx.env, logger: fctx.logger, signal: fctx.signal, storageDir: fctx.storageDir }),
    });
    ctx.commands.register('devices', devicesCommand);
  },
});

export { AfcConnection, type LinkProvider, usbmuxLinkProvider } from './afc-connection.js';
export { type DeviceSelector, listUsbDevices, readDeviceName, selectDevice } from './device-select.js';
export { type DeviceSummary, devicesCommand, listDeviceSummaries } from './devices-command.js';
export { createIphoneSource, IphoneSource, type IphoneSourceOptions } from './iphone-source.js';
export { modelName } from './models.js';
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
export {
  APPLE_VENDOR_ID,
  type DirectLinkOptions,
  type DirectUsbDevice,
  directLinkProvider,
  isAppleMobileProduct,
  listDirectUsbDevices,
  loadUsb,
  openDirectUsb,
  USBMUX_INTERFACE,
  type UsbModule,
} from './usb-direct.js';
export * from './usb-mux-protocol.js';
export { UsbMuxSession, type UsbMuxSessionOptions } from './usb-mux-session.js';
