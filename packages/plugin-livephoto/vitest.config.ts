import { defineConfig } from 'vitest/config';

// ffmpeg runs in these tests; on a busy 2-core machine a transcode can take several seconds.
export default defineConfig({ test: { testTimeout: 30_000 } });
