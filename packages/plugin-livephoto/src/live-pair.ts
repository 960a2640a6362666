import { type Asset, type Diagnostic, isAbortError, isKeepsakeError, type Transform, type TransformContext } from '@keepsake/core';
import { readMotionFacts } from './media-facts.js';
import { isQuickTime } from './mov-to-mp4.js';
import { checkLivePair, DEFAULT_PAIR_OPTIONS, livePair, type PairCheck, type PairOptions, pairDiagnostic } from './pairing.js';

/** What live-pair found, on `asset.data.livePhoto`, for later transforms and reports. */
export interface LivePhotoData extends Omit<PairCheck, 'status'> {
  status: PairCheck['status'] | 'unpaired';
  /** Still frame position in the movie (µs), when the MOV records it. */
  stillImageTimeUs?: number;
}

declare module '@keepsake/core' {
  interface AssetData {
    livePhoto?: LivePhotoData;
  }
}

/** Bump when the findings for the same input change. */
const REVISION = 1;

function withDiagnostic(asset: Asset, diagnostic: Diagnostic | undefined): Diagnostic[] | undefined {
  return diagnostic ? [...(asset.diagnostics ?? []), diagnostic] : asset.diagnostics;
}

/** Metadata that cannot be parsed is a finding about this item, not a reason to stop delivering it. */
function unreadable(asset: Asset, err: unknown): Asset {
  if (isAbortError(err)) throw err;
  const message = isKeepsakeError(err) ? err.message : String((err as Error)?.message ?? err);
  return {
    ...asset,
    diagnostics: withDiagnostic(asset, { level: 'warning', source: 'livephoto:unverified', message: `${asset.id}: Live Photo metadata unreadable: ${message}` }),
  };
}

/**
 * Checks one asset's Live Photo pair (the source grouped still and video, usually by name):
 * confirms it by ContentIdentifier, falls back to name + capture time, and reports what does not
 * fit as diagnostics (`livephoto:mismatch`, `livephoto:unverified`, `livephoto:unpaired`,
 * `livephoto:paired-by-name`). Resources are never changed; what was found goes to
 * `asset.data.livePhoto`, which live-to-motion-photo trusts.
 */
export async function applyLivePair(asset: Asset, options: PairOptions, ctx: Pick<TransformContext, 'signal'>): Promise<Asset> {
  const pair = livePair(asset);
  if (pair) {
    let check: Awaited<ReturnType<typeof checkLivePair>>;
    try {
      check = await checkLivePair(pair.still, pair.motion, options, ctx.signal);
    } catch (err) {
      return unreadable(asset, err);
    }
    const { evidence, ...found } = check;
    const livePhoto: LivePhotoData = {
      ...found,
      ...(evidence.motion.stillImageTimeUs !== undefined ? { stillImageTimeUs: evidence.motion.stillImageTimeUs } : {}),
    };
    return {
      ...asset,
      ...(check.status === 'paired' ? { kind: 'live' as const } : {}),
      ...(check.contentIdentifier ? { contentIdentifier: check.contentIdentifier } : {}),
      data: { ...asset.data, livePhoto },
      diagnostics: withDiagnostic(asset, pairDiagnostic(check, asset)),
    };
  }
  if (asset.kind === 'live') {
    const has = asset.resources.map((r) => `${r.role} ${r.name}`).join(', ');
    return {
      ...asset,
      data: { ...asset.data, livePhoto: { status: 'unpaired', reason: `a Live Photo needs a still and a motion resource; found ${has || 'none'}` } },
      diagnostics: withDiagnostic(asset, { level: 'warning', source: 'livephoto:unpaired', message: `${asset.id}: Live Photo without its ${asset.resources.some((r) => r.role === 'motion') ? 'still' : 'video'} (${has || 'no files'})` }),
    };
  }
  // A lone MOV that carries a ContentIdentifier is the video half of a Live Photo whose still is elsewhere.
  const mov = asset.kind === 'video' && asset.resources.length > 0 ? asset.resources.find((r) => r.role === 'original' && isQuickTime(r)) : undefined;
  if (mov) {
    let id: string | undefined;
    try {
      id = (await readMotionFacts(mov, ctx.signal)).contentIdentifier;
    } catch (err) {
      return unreadable(asset, err);
    }
    if (!id) return asset;
    return {
      ...asset,
      contentIdentifier: id,
      data: { ...asset.data, livePhoto: { status: 'unpaired', motionIdentifier: id, reason: `${mov.name} is a Live Photo video (ContentIdentifier ${id}) delivered without its still` } },
      diagnostics: withDiagnostic(asset, { level: 'info', source: 'livephoto:unpaired', message: `${asset.id}: ${mov.name} is the video of a Live Photo whose still is not with it (ContentIdentifier ${id})` }),
    };
  }
  return asset;
}

/**
 * Logs the diagnostics this transform added, as well as attaching them: the pipeline reports the
 * diagnostics a source attached, and the log makes sure a transform's findings reach the user too.
 */
export function logNewDiagnostics(before: Asset, after: Asset, ctx: Pick<TransformContext, 'logger'>): void {
  const known = new Set(before.diagnostics ?? []);
  for (const d of after.diagnostics ?? []) {
    if (known.has(d)) continue;
    const fields = { source: d.source, assetId: after.id };
    if (d.level === 'error') ctx.logger.error(d.message, fields);
    else if (d.level === 'warning') ctx.logger.warn(d.message, fields);
    else ctx.logger.info(d.message, fields);
  }
}

export function createLivePair(options: PairOptions = DEFAULT_PAIR_OPTIONS): Transform {
  return {
    id: 'live-pair',
    version: `live-pair@${REVISION};maxTimeDifferenceSeconds=${options.maxTimeDifferenceSeconds}`,
    async apply(asset, ctx) {
      const out = await applyLivePair(asset, options, ctx);
      logNewDiagnostics(asset, out, ctx);
      return out;
    },
  };
}
