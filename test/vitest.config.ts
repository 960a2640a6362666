import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.e2e.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // e2e suites spawn processes and servers; run files one at a time on a 2-core machine
    fileParallelism: false,
  },
});
