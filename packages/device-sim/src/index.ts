/**
 * @keepsake/device-sim — a simulated iPhone (usbmuxd + lockdownd + AFC) for tests and demos.
 * @packageDocumentation
 */
export type { AfcFaults } from './afc-server.js';
export { buildCameraRoll, type CameraRollOptions, findFixturesDir, type SimFile, type SimFs } from './camera-roll.js';
export { type Content, prng, taggedContent } from './content.js';
export { SimUsbMux } from './usb-mux-device.js';
export { SimDevice, type SimDeviceOptions, type TrustResponse } from './sim-device.js';
export { Simulator, type SimulatorOptions } from './simulator.js';
