// Benchmark-only plugin. Plain JS so `node` runs it without a build step.
import { createHash } from 'node:crypto';
import { defineCapabilities, definePlugin } from '@keepsake/core';

/** Size of asset i: spread deterministically between min and max. */
const sizeOf = (i, min, max) => min + ((i * 2654435761) % 4294967296) % (max - min + 1);

function bytesOf(seed, i, size) {
  // distinct content per asset: a header with the index, then a repeating pattern
  const out = Buffer.alloc(size, (i * 31) & 0xff);
  out.write(`${seed}:${i}:`, 0, Math.min(size, 40), 'latin1');
  return out;
}

const syntheticSource = {
  create(o) {
    const { count, seed, minBytes, maxBytes } = o;
    const t0 = Date.UTC(2022, 0, 1);
    return {
      key: `synthetic:${seed}:${count}`,
      capabilities: { expensiveReads: false, canDelete: false },
      async *scan(ctx) {
        let bytes = 0;
        for (let i = 0; i < count; i++) bytes += sizeOf(i, minBytes, maxBytes);
        ctx.reportTotals({ assets: count, bytes });
        for (let i = 0; i < count; i++) {
          if (ctx.signal.aborted) return;
          const size = sizeOf(i, minBytes, maxBytes);
          const mtimeMs = t0 + i * 60_000;
          const name = `IMG_${String(i % 10000).padStart(4, '0')}.JPG`;
          const key = `${100 + Math.floor(i / 10000)}APPLE/${name}`;
          yield {
            id: key,
            kind: 'photo',
            capturedAt: { local: new Date(mtimeMs).toISOString().slice(0, 19), source: 'mtime' },
            resources: [
              {
                role: 'original',
                name,
                key,
                size,
                mtimeMs,
                mediaType: 'image/jpeg',
                async *open(opts = {}) {
                  yield bytesOf(seed, i, size).subarray(opts.offset ?? 0);
                },
              },
            ],
          };
        }
      },
    };
  },
};

const discardSink = {
  create(o) {
    return {
      key: `discard:${o.name}`,
      capabilities: defineCapabilities({ hashes: ['sha256'], atomicWrite: true, maxConcurrency: 4, canVerify: false }),
      async put(asset, ctx) {
        const items = [];
        for (const r of asset.resources) {
          const h = createHash('sha256');
          let size = 0;
          for await (const chunk of r.open({ signal: ctx.signal })) {
            h.update(chunk);
            size += chunk.byteLength;
            ctx.onProgress(chunk.byteLength);
          }
          items.push({ resourceKey: r.key, role: r.role, name: r.name, location: `${asset.id}/${r.name}`, size, hashes: { sha256: h.digest('hex') }, verified: true });
        }
        return { items };
      },
    };
  },
};

export default definePlugin({
  activate(ctx) {
    ctx.sources.register('synthetic', syntheticSource);
    ctx.sinks.register('discard', discardSink);
  },
});
