// e2e fixture: items whose names try to escape or break the destination. Each has distinct bytes
// (its index and name), so the test can find every one in the output by content.
import { definePlugin } from '@keepsake/core';

export const HOSTILE_NAMES = [
  '../x.jpg',
  '../../etc/passwd.jpg',
  '/abs/olute.jpg',
  'a\0b.jpg',
  'ctrl\x01\x1f\x7f.jpg',
  `${'L'.repeat(296)}.jpg`,
  `${'é'.repeat(200)}.jpg`,
  '..',
  '.',
  'con.jpg',
  'trailing-dot.',
  'IMG_0001.heic',
  'IMG_0001.HEIC',
  'caf\u00e9.jpg',
  'cafe\u0301.jpg',
];

export function hostileBytes(i, name) {
  return Buffer.from(`hostile item ${i} ${JSON.stringify(name)}\n`, 'utf8');
}

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
