import { type Asset, type Diagnostic, isImageType, isVideoType, KeepsakeError, type Resource, splitName } from '@keepsake/core';
import { type LiveFacts, type MotionFacts, readMotionFacts, readStillFacts, secondsApart } from './media-facts.js';

/** How a still and a video were found to belong together. */
export type PairMethod = 'content-identifier' | 'name-and-time';

/**
 * - `paired`: same ContentIdentifier, or (when an identifier is missing) same base name and
 *   capture times within the allowed gap;
 * - `mismatch`: the files say they belong to different Live Photos (identifiers differ, or names
 *   or times disagree);
 * - `unverified`: nothing to decide with (no identifiers and no comparable capture times).
 */
export type PairStatus = 'paired' | 'mismatch' | 'unverified';

export interface PairCheck {
  status: PairStatus;
  method?: PairMethod;
  /** The shared identifier when paired by it. */
  contentIdentifier?: string;
  stillIdentifier?: string;
  motionIdentifier?: string;
  /** Capture-time gap between still and video, when both times are known. */
  secondsApart?: number;
  /** One sentence for people: what was compared and what was found. */
  reason: string;
}

export interface PairOptions {
  /** Largest capture-time gap accepted when an identifier is missing. */
  maxTimeDifferenceSeconds: number;
}

export const DEFAULT_PAIR_OPTIONS: PairOptions = { maxTimeDifferenceSeconds: 5 };

/** Facts read from both files, kept for transforms that need more (the still-image time). */
export interface PairEvidence {
  still: LiveFacts;
  motion: MotionFacts;
}

/**
 * Decides from already-read facts whether `still` and `motion` are one Live Photo. Pure, so it can
 * be tested without files. The ContentIdentifier decides whenever both files carry one; the base
 * name and capture time are only a fallback, and a missing fact is reported, never guessed.
 */
export function decidePair(stillName: string, motionName: string, evidence: PairEvidence, options: PairOptions = DEFAULT_PAIR_OPTIONS): PairCheck {
  const sid = evidence.still.contentIdentifier;
  const mid = evidence.motion.contentIdentifier;
  const ids = { ...(sid ? { stillIdentifier: sid } : {}), ...(mid ? { motionIdentifier: mid } : {}) };
  if (sid && mid) {
    if (sid.toUpperCase() === mid.toUpperCase()) {
      return { status: 'paired', method: 'content-identifier', contentIdentifier: sid, ...ids, reason: `ContentIdentifier ${sid} on both files` };
    }
    return { status: 'mismatch', ...ids, reason: `${stillName} has ContentIdentifier ${sid} but ${motionName} has ${mid}` };
  }
  const missing = !sid && !mid ? 'neither file carries a ContentIdentifier' : !sid ? `${stillName} carries no ContentIdentifier` : `${motionName} carries no ContentIdentifier`;
  const sameBase = splitName(stillName).base.toUpperCase() === splitName(motionName).base.toUpperCase();
  if (!sameBase) return { status: 'mismatch', ...ids, reason: `${missing} and the names differ (${stillName}, ${motionName})` };
  const gap = evidence.still.captured && evidence.motion.captured ? secondsApart(evidence.still.captured, evidence.motion.captured) : undefined;
  if (gap === undefined) return { status: 'unverified', ...ids, reason: `${missing} and the capture times cannot be compared` };
  const rounded = Math.round(gap * 10) / 10;
  if (gap > options.maxTimeDifferenceSeconds) {
    return { status: 'mismatch', ...ids, secondsApart: rounded, reason: `${missing} and the files were captured ${rounded} s apart (limit ${options.maxTimeDifferenceSeconds} s)` };
  }
  return { status: 'paired', method: 'name-and-time', ...ids, secondsApart: rounded, reason: `${missing}; same name and captured ${rounded} s apart` };
}

/** Reads both files' metadata (small ranged reads) and decides. */
export async function checkLivePair(
  still: Resource,
  motion: Resource,
  options: PairOptions = DEFAULT_PAIR_OPTIONS,
  signal?: AbortSignal,
): Promise<PairCheck & { evidence: PairEvidence }> {
  const [stillFacts, motionFacts] = await Promise.all([readStillFacts(still, signal), readMotionFacts(motion, signal)]);
  const evidence = { still: stillFacts, motion: motionFacts };
  return { ...decidePair(still.name, motion.name, evidence, options), evidence };
}

/** Like {@link checkLivePair} but throws LIVEPHOTO_MISMATCH / LIVEPHOTO_UNVERIFIED unless paired. */
export async function requireLivePair(still: Resource, motion: Resource, options?: PairOptions, signal?: AbortSignal) {
  const check = await checkLivePair(still, motion, options, signal);
  if (check.status === 'mismatch') {
    throw new KeepsakeError('LIVEPHOTO_MISMATCH', `${still.name} and ${motion.name} are not the same Live Photo: ${check.reason}`, {
      resource: motion.name,
      hint: 'Deliver the still and the video separately (remove live-to-motion-photo for this sink), or fix how the source grouped them.',
    });
  }
  if (check.status === 'unverified') {
    throw new KeepsakeError('LIVEPHOTO_UNVERIFIED', `Cannot confirm that ${still.name} and ${motion.name} are one Live Photo: ${check.reason}`, {
      resource: motion.name,
      hint: 'The files lost their Apple metadata (edited or re-encoded?); deliver them separately.',
    });
  }
  return check;
}

/** The still and the motion resource of an asset, when it has both. */
export function livePair(asset: Asset): { still: Resource; motion: Resource } | undefined {
  const still = asset.resources.find((r) => r.role === 'original' && isImageType(r.mediaType));
  const motion = asset.resources.find((r) => r.role === 'motion' && isVideoType(r.mediaType));
  return still && motion ? { still, motion } : undefined;
}

/** The diagnostic a pair check deserves, if any. */
export function pairDiagnostic(check: PairCheck, asset: Asset): Diagnostic | undefined {
  switch (check.status) {
    case 'mismatch':
      return { level: 'warning', source: 'livephoto:mismatch', message: `${asset.id}: still and video do not belong together: ${check.reason}` };
    case 'unverified':
      return { level: 'warning', source: 'livephoto:unverified', message: `${asset.id}: Live Photo pair not confirmed: ${check.reason}` };
    case 'paired':
      return check.method === 'name-and-time'
        ? { level: 'info', source: 'livephoto:paired-by-name', message: `${asset.id}: paired without ContentIdentifier: ${check.reason}` }
        : undefined;
  }
}
