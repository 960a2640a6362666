/**
 * The demo's preferred source: a simulated iPhone from @keepsake/device-sim, served in-process on
 * a private usbmuxd socket and read by the real `iphone` source (transport-usb). Returns undefined
 * (and the demo falls back to the sample folder) when either package is missing or not ready.
 */
import type { Logger, PluginHost } from '@keepsake/core';

export interface DemoSimulator {
  /** Environment for the run: USBMUXD_SOCKET_ADDRESS pointing at the simulator. */
  env: NodeJS.ProcessEnv;
  files: number;
  stop(): Promise<void>;
}

interface SimulatorModule {
  Simulator: {
    start(o?: { devices?: { name?: string; cameraRoll?: { assets?: number; largeVideoBytes?: number } }[] }): Promise<{
      env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
      devices: { fs: { files: Map<string, unknown> } }[];
      stop(): Promise<void>;
    }>;
  };
}

// A variable specifier keeps the bundler from inlining the simulator into the CLI.
const SIM_PACKAGE = '@keepsake/device-sim';

export async function startDemoSimulator(host: PluginHost, env: NodeJS.ProcessEnv, logger: Logger): Promise<DemoSimulator | undefined> {
  if (!host.contribution('source', 'iphone')) return undefined;
  let mod: SimulatorModule;
  try {
    mod = (await import(SIM_PACKAGE)) as SimulatorModule;
  } catch (err) {
    logger.debug(`demo: no device simulator (${(err as Error).message})`);
    return undefined;
  }
  if (typeof mod.Simulator?.start !== 'function') return undefined;
  let sim: Awaited<ReturnType<SimulatorModule['Simulator']['start']>> | undefined;
  try {
    sim = await mod.Simulator.start({ devices: [{ name: 'Demo iPhone', cameraRoll: { assets: 40, largeVideoBytes: 4 * 1024 * 1024 } }] });
    const simEnv = sim.env(env);
    // preflight: the iphone source's plugin activates and accepts the defaults
    const source = await host.createSource({ use: 'iphone', with: {} }, 'demo.source', { env: simEnv, logger });
    await source.close?.();
    return { env: simEnv, files: sim.devices[0]?.fs.files.size ?? 0, stop: () => sim!.stop() };
  } catch (err) {
    logger.debug(`demo: simulator not usable, using the sample folder (${(err as Error).message})`);
    await sim?.stop().catch(() => {});
    return undefined;
  }
}
