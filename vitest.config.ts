import { defineConfig } from 'vitest/config';

// One vitest run over every package (each keeps its own config when it has one), so the whole
// suite ends in a single runner summary. Packages must be built first (e2e tests run dist/).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'test'],
    maxWorkers: 2,
  },
});
