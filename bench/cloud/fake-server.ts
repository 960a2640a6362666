/**
 * Runs the onedrive package's fake Graph in its own process (so its memory and CPU are not
 * counted against the uploader), optionally shaped to a fixed bandwidth and latency.
 *
 *   node bench/cloud/fake-server.ts [--bps 20971520] [--latency 50]
 *
 * Prints one JSON line: { url, endpoint, tokens }. Stops on SIGTERM after printing its stats.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeGraph } from '../../packages/plugin-onedrive/test/fake-graph.ts';

const root = new URL('../../', import.meta.url).pathname;
const { QuickXorHash } = await import(join(root, 'packages/plugin-onedrive/dist/index.js'));
const { values } = parseArgs({ options: { bps: { type: 'string', default: '0' }, latency: { type: 'string', default: '0' } } });
const bps = Number(values.bps);
const fake = await startFakeGraph({
  quickXorHash: () => new QuickXorHash(),
  bytesPerSecond: bps > 0 ? bps : undefined,
  latencyMs: Number(values.latency) || undefined,
});
process.stdout.write(`${JSON.stringify({ url: fake.url, endpoint: fake.endpoint, tokens: fake.issueTokens() })}\n`);
process.on('SIGTERM', async () => {
  process.stdout.write(`${JSON.stringify({ stats: fake.stats, files: fake.files().length, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
  await fake.close();
  process.exit(0);
});
