import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Asset, primaryResource, type Resource, splitName, type Transform, type TransformContext } from '@keepsake/core';
import type { ResolvedFfmpeg } from './ffmpeg.js';
import { convertToMp4, type Mp4Mode } from './mp4-remux.js';
import { fileBackedResource, type RunCache, sharedRunCache, spoolToFile, workDir, workFileName } from './work-files.js';

export type KeepMode = 'converted' | 'both';

export interface MovToMp4Options {
  /** `converted` (default): the MP4 replaces the MOV; `both`: the MOV is delivered too. */
  keep: KeepMode;
  mode: Mp4Mode;
  crf: number;
}

export const MOV_TO_MP4_DEFAULTS: MovToMp4Options = { keep: 'converted', mode: 'auto', crf: 18 };

/** Bump when the bytes this transform writes for the same input and options change. */
const OUTPUT_REVISION = 1;

/** IMG_0001.MOV → IMG_0001.MP4 (extension case follows the input's). */
export function mp4NameFor(name: string): string {
  const { base, ext } = splitName(name);
  return `${base}.${ext === ext.toLowerCase() ? 'mp4' : 'MP4'}`;
}

export function isQuickTime(resource: Resource): boolean {
  return resource.mediaType === 'video/quicktime' || splitName(resource.name).ext.toLowerCase() === 'mov';
}

/**
 * The MP4 made from `resource`, produced on first open (once per run) in `ctx.tempDir`. Shared
 * with live-to-motion-photo, which appends the same MP4 to a still.
 */
export function mp4Work(
  ffmpeg: ResolvedFfmpeg,
  cache: RunCache,
  resource: Resource,
  options: Pick<MovToMp4Options, 'mode' | 'crf'>,
  ctx: TransformContext,
): () => Promise<string> {
  const cacheKey = [ctx.tempDir, 'mp4', resource.key, String(resource.size), String(resource.mtimeMs), options.mode, String(options.crf)];
  return () =>
    cache.get(cacheKey, async () => {
      const dir = await workDir(ctx.tempDir);
      const input = await spoolToFile(resource, dir, cacheKey, ctx.signal);
      const output = join(dir, workFileName(cacheKey, 'mp4'));
      let result: Awaited<ReturnType<typeof convertToMp4>>;
      try {
        result = await convertToMp4(ffmpeg, input, output, options, ctx.signal);
      } finally {
        await rm(input, { force: true });
      }
      ctx.logger.debug('mov-to-mp4: converted', {
        resource: resource.name,
        bytes: result.bytes,
        videoCopied: result.videoCopied,
        audioCopied: result.audioCopied,
      });
      return result.path;
    });
}

/**
 * Transform `mov-to-mp4`: every QuickTime resource of an asset (a video's original, a Live Photo's
 * motion) gets an MP4 twin, remuxed when the codecs allow and transcoded otherwise.
 */
export function createMovToMp4(ffmpeg: ResolvedFfmpeg, options: MovToMp4Options, cache: RunCache = sharedRunCache): Transform {
  const runs = new Set<string>();
  return {
    id: 'mov-to-mp4',
    version: `mov-to-mp4@${OUTPUT_REVISION};mode=${options.mode};crf=${options.crf};keep=${options.keep}`,
    apply(asset: Asset, ctx: TransformContext): Asset {
      if (!asset.resources.some(isQuickTime)) return asset;
      runs.add(ctx.tempDir);
      const primary = primaryResource(asset);
      const resources: Resource[] = [];
      let renamedTo: string | undefined;
      for (const r of asset.resources) {
        if (!isQuickTime(r)) {
          resources.push(r);
          continue;
        }
        const name = mp4NameFor(r.name);
        const mp4 = fileBackedResource(
          {
            role: 'derived',
            name,
            key: `${r.key}#mp4`,
            mtimeMs: r.mtimeMs,
            mediaType: 'video/mp4',
            derivedFrom: r.key,
          },
          mp4Work(ffmpeg, cache, r, options, ctx),
        );
        if (options.keep === 'both') resources.push(r);
        resources.push(mp4);
        if (r === primary && options.keep === 'converted') renamedTo = name;
      }
      if (!renamedTo) return { ...asset, resources };
      // vfile-style history: the asset is now known by its MP4's name.
      const history = asset.history ?? (primary ? [primary.name] : []);
      return { ...asset, resources, history: [...history, renamedTo] };
    },
    async close() {
      for (const run of runs) cache.forgetRun(run);
    },
  };
}
