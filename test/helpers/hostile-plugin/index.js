// e2e fixture: items whose names try to escape or break the destination. Each has distinct bytes
// (its index and name), so the test can find every one in the output by content.
import { definePlugin } from '@keepsake/core';
import { HOSTILE_NAMES, hostileBytes } from './names.js';

export default definePlugin({
  activate(ctx) {
    ctx.sources.register('hostile', {
      create() {
        return {
          key: 'hostile:test',
          capabilities: { expensiveReads: false, canDelete: false },
          async *scan(sctx) {
            sctx.reportTotals({ assets: HOSTILE_NAMES.length });
            for (const [i, name] of HOSTILE_NAMES.entries()) {
              const bytes = hostileBytes(i, name);
              yield {
                id: `hostile-${i}`,
                kind: 'photo',
                capturedAt: { local: '2024-02-29T12:00:00', source: 'metadata' },
                resources: [
                  {
                    role: 'original',
                    name,
                    key: `item-${i}`,
                    size: bytes.length,
                    mtimeMs: Date.UTC(2024, 1, 29, 12),
                    mediaType: 'image/jpeg',
                    async *open(o = {}) {
                      yield bytes.subarray(o.offset ?? 0);
                    },
                  },
                ],
              };
            }
          },
        };
      },
    });
  },
});
