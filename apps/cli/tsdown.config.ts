import { defineConfig } from 'tsdown';

// One entry (the bin); each command is a dynamic import() and so its own chunk, loaded only when
// that command runs. That keeps `keepsake --help` from loading core, Ajv, SQLite or any plugin.
export default defineConfig({
  entry: ['src/bin.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  platform: 'node',
  target: 'node22',
  fixedExtension: false,
  banner: { js: '#!/usr/bin/env node' },
});
