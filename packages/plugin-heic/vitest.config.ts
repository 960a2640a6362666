import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real 12 MP conversions on a shared 2-core machine; each test converts one or two photos.
    testTimeout: 120_000,
    hookTimeout: 30_000,
  },
});
