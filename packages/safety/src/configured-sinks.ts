import type { LoadedConfig, Logger, PluginHost, Sink } from '@keepsake/core';

export interface ConfiguredSink {
  sink: Sink;
  use: string;
  /** First pipeline in the config that delivers to it. */
  pipeline: string;
  /** Every pipeline that delivers to it (two phones → one NAS). */
  pipelines: string[];
  /**
   * Off-site as the config says now (`offsite` on the step, else the sink's default; off-site if
   * any pipeline says so). The ledger's flag is what the last runs said, and stays set by a
   * pipeline that was since renamed or removed.
   */
  offsite: boolean;
}

/**
 * Instantiates every sink the config declares (or one pipeline's), keyed by `Sink.key`, so
 * deliveries recorded in the ledger can be re-checked where they are. Sinks no longer in the
 * config cannot be checked and are reported as such by the callers.
 */
export async function openConfiguredSinks(
  host: PluginHost,
  loaded: LoadedConfig,
  o: { pipeline?: string; signal: AbortSignal; logger?: Logger },
): Promise<{ sinks: Map<string, ConfiguredSink>; close(): Promise<void> }> {
  const sinks = new Map<string, ConfiguredSink>();
  const all: Sink[] = [];
  const close = async () => {
    for (const s of all) await s.close?.().catch(() => {});
  };
  try {
    for (const [name, p] of Object.entries(loaded.config.pipelines)) {
      if (o.pipeline && name !== o.pipeline) continue;
      for (const [i, step] of p.sinks.entries()) {
        const sink = await host.createSink(step, `pipelines.${name}.sinks[${i}]`, { configDir: loaded.dir, pipeline: name, signal: o.signal, logger: o.logger });
        all.push(sink);
        const offsite = step.offsite ?? sink.capabilities.offsite;
        const known = sinks.get(sink.key);
        if (known) {
          known.pipelines.push(name);
          known.offsite ||= offsite;
        } else sinks.set(sink.key, { sink, use: step.use, pipeline: name, pipelines: [name], offsite });
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { sinks, close };
}
