/**
 * The `heic-to-jpeg` transform. `apply` is cheap: it checks each HEIC's structure from its header
 * and adds a derived JPEG resource whose `open` converts lazily — once per asset per run, in the
 * worker pool, into the run's temp folder — and then streams the file (from any offset).
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  abortError,
  type Asset,
  type Diagnostic,
  isKeepsakeError,
  KeepsakeError,
  type Logger,
  type OpenOptions,
  type Resource,
  readFileStream,
  splitName,
  throwIfAborted,
  type Transform,
  type TransformContext,
  writeStreamAtomic,
} from '@keepsake/core';
import { randomAccessFromOpen } from '@keepsake/media';
import type { ConvertResult } from './convert.js';
import { chooseDecoder, type DecoderChoice } from './decoder-choice.js';
import { HEIC_DECODE_FAILED, heicDecodeFailed } from './errors.js';
import { checkHeif } from './heif-check.js';
import { type HeicToJpegOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { ConversionPool, WorkerJobError } from './pool.js';

export const TRANSFORM_ID = 'heic-to-jpeg';

/**
 * Goes into the ledger's transform chain: bump it only when already delivered JPEGs are wrong and
 * should be delivered again. Not for encoder-level byte changes (the ffmpeg decoder, sharp without
 * Huffman optimisation, a different decoder picked by `auto` on another machine): the picture is
 * the same, and a bump would put a second copy next to every JPEG a user already has.
 */
export const CONVERTER_VERSION = '1';

const HEIC_EXTENSIONS = new Set(['heic', 'heif', 'hif']);

/**
 * Converted JPEGs kept in the run's temp folder at once. Older ones are deleted (a reader that
 * already opened one keeps reading it), so a 20,000-photo run does not fill the disk; a JPEG
 * opened again after that is converted again.
 */
const MAX_KEPT_CONVERSIONS = 64;

/**
 * Conversions of this process, keyed by run temp folder, asset, resource and the options that shape
 * the output: two sinks that both run heic-to-jpeg with the same options share one conversion.
 */
const conversions = new Map<string, Promise<Produced>>();

/** Still images this transform converts: HEIC/HEIF originals and edited renders. */
export function isHeicResource(r: Resource): boolean {
  if (r.role !== 'original' && r.role !== 'edited') return false;
  if (r.mediaType === 'image/heic' || r.mediaType === 'image/heif') return true;
  return HEIC_EXTENSIONS.has(splitName(r.name).ext.toLowerCase());
}

/** IMG_0001.HEIC → IMG_0001.JPG, photo.heic → photo.jpg (the extension's case is kept). */
export function jpegName(name: string): string {
  const { base, ext } = splitName(name);
  return `${base}.${ext && ext === ext.toLowerCase() ? 'jpg' : 'JPG'}`;
}

/** Resolves like `promise`, or rejects with ABORTED as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Deletes the oldest converted JPEGs beyond {@link MAX_KEPT_CONVERSIONS} (readers keep open files). */
function evictOldConversions(): void {
  for (const [key, entry] of conversions) {
    if (conversions.size <= MAX_KEPT_CONVERSIONS) return;
    conversions.delete(key);
    entry.then(
      (p) => rm(p.path, { force: true }),
      () => undefined,
    );
  }
}

/**
 * One pool per process, shared by every heic-to-jpeg instance (one per sink that uses it), so two
 * sinks do not double the workers and the memory. Sized by the first instance that converts;
 * stopped when the last instance closes.
 */
let sharedPool: { pool: ConversionPool; users: number } | undefined;

function acquireSharedPool(size: number | undefined): ConversionPool {
  sharedPool ??= { pool: new ConversionPool(size), users: 0 };
  sharedPool.users++;
  return sharedPool.pool;
}

async function releaseSharedPool(): Promise<void> {
  if (!sharedPool || --sharedPool.users > 0) return;
  const { pool } = sharedPool;
  sharedPool = undefined;
  await pool.close();
}

export interface HeicToJpegDeps {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Use this pool (tests, benchmarks); otherwise the process-wide pool is shared by all transforms. */
  pool?: ConversionPool;
}

interface Produced {
  path: string;
  result: ConvertResult;
}

export class HeicToJpegTransform implements Transform {
  readonly id = TRANSFORM_ID;
  readonly version: string;
  readonly options: ResolvedOptions;
  private readonly logger: Logger;
  private readonly env: NodeJS.ProcessEnv;
  private pool: ConversionPool | undefined;
  private readonly ownsPool: boolean;
  private decoderChoice: Promise<DecoderChoice> | undefined;

  constructor(options: HeicToJpegOptions, deps: HeicToJpegDeps) {
    this.options = resolveOptions(options);
    const { quality, keep, decoder } = this.options;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
      throw new KeepsakeError('OPTION_INVALID', `heic-to-jpeg: quality must be an integer from 1 to 100 (got ${quality})`, { hint: 'Use e.g. "quality": 92.' });
    }
    this.version = `${TRANSFORM_ID}/${CONVERTER_VERSION} quality=${quality} keep=${keep} decoder=${decoder}`;
    this.logger = deps.logger;
    this.env = deps.env ?? process.env;
    this.pool = deps.pool;
    this.ownsPool = !deps.pool;
  }

  /** The decoder this transform uses here, resolved once (see decoder-choice.ts). */
  resolveDecoder(): Promise<DecoderChoice> {
    const { decoder, heifConvertPath } = this.options;
    this.decoderChoice ??= chooseDecoder(decoder, { env: this.env, logger: this.logger, ...(heifConvertPath ? { heifConvertPath } : {}) });
    return this.decoderChoice;
  }

  async apply(asset: Asset, ctx: TransformContext): Promise<Asset> {
    if (!asset.resources.some(isHeicResource)) return asset;
    const resources: Resource[] = [];
    const added: Resource[] = [];
    const diagnostics: Diagnostic[] = [...(asset.diagnostics ?? [])];
    let renamed: string | undefined;
    for (const resource of asset.resources) {
      if (!isHeicResource(resource)) {
        resources.push(resource);
        continue;
      }
      const problem = await this.precheck(resource, ctx);
      if (problem) {
        const error = heicDecodeFailed(resource.name, problem, { assetId: asset.id, resource: resource.name, contribution: TRANSFORM_ID, stage: 'transform' });
        if (this.options.keep === 'converted') throw error;
        const message = `${error.message} — the original is delivered unconverted`;
        diagnostics.push({ level: 'error', source: `heic:${HEIC_DECODE_FAILED}`, message });
        ctx.logger.warn(message, { assetId: asset.id, code: HEIC_DECODE_FAILED });
        resources.push(resource);
        continue;
      }
      const derived = this.derive(asset, resource, ctx);
      if (this.options.keep === 'converted') {
        resources.push(derived);
        if (resource === asset.resources.find((r) => r.role === 'original')) renamed = derived.name;
      } else {
        resources.push(resource);
        added.push(derived);
      }
    }
    const out: Asset = { ...asset, resources: [...resources, ...added] };
    if (renamed) out.history = [...(asset.history ?? [asset.resources.find((r) => r.role === 'original')?.name ?? asset.id]), renamed];
    if (diagnostics.length > 0) out.diagnostics = diagnostics;
    return out;
  }

  /** Structural check from the header only (a few KB), so a damaged file never becomes a derived resource. */
  private async precheck(resource: Resource, ctx: TransformContext): Promise<string | undefined> {
    if (resource.size === undefined) return undefined; // checked again when converting
    const ra = randomAccessFromOpen(resource.open, resource.size, ctx.signal);
    const checked = await checkHeif(ra);
    return checked.problem;
  }

  private derive(asset: Asset, source: Resource, ctx: TransformContext): Resource {
    const derived: Resource = {
      role: 'derived',
      name: jpegName(source.name),
      key: `${source.key}#${TRANSFORM_ID}`,
      size: undefined,
      mtimeMs: source.mtimeMs,
      mediaType: 'image/jpeg',
      derivedFrom: source.key,
      open: (options: OpenOptions = {}) => this.openDerived(asset, source, derived, ctx, options),
    };
    return derived;
  }

  private async *openDerived(asset: Asset, source: Resource, derived: Resource, ctx: TransformContext, options: OpenOptions): AsyncGenerator<Uint8Array> {
    const readOptions: { offset?: number; signal?: AbortSignal } = { offset: options.offset ?? 0 };
    if (options.signal) readOptions.signal = options.signal;
    for (let attempt = 0; ; attempt++) {
      // A reader that gives up (its signal aborts) stops waiting; the shared conversion goes on.
      const produced = await untilAborted(this.produce(asset, source, derived.name, ctx), options.signal);
      derived.size = produced.result.bytes;
      const stream = readFileStream(produced.path, readOptions);
      let first: IteratorResult<Uint8Array>;
      try {
        first = await stream.next();
      } catch (err) {
        // Evicted between conversion and open: convert again (once).
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue;
        throw err;
      }
      if (first.done) return;
      yield first.value;
      yield* stream;
      return;
    }
  }

  /** Converts once per (run temp folder, asset, resource); later opens reuse the file. */
  private produce(asset: Asset, source: Resource, outputName: string, ctx: TransformContext): Promise<Produced> {
    const { quality, decoder, heifConvertPath } = this.options;
    const cacheKey = [ctx.tempDir, asset.id, source.key, quality, decoder, heifConvertPath ?? ''].join('\0');
    let produced = conversions.get(cacheKey);
    if (!produced) {
      produced = this.convert(asset, source, outputName, ctx, cacheKey);
      conversions.set(cacheKey, produced);
      evictOldConversions();
      // A failure while copying the source may be transient: let a retry try again.
      produced.catch((err) => {
        if (!(isKeepsakeError(err) && err.code === HEIC_DECODE_FAILED)) conversions.delete(cacheKey);
      });
    }
    return produced;
  }

  private async convert(asset: Asset, source: Resource, outputName: string, ctx: TransformContext, cacheKey: string): Promise<Produced> {
    const choice = await this.resolveDecoder();
    const dir = join(ctx.tempDir, TRANSFORM_ID, createHash('sha256').update(cacheKey).digest('hex').slice(0, 20));
    await mkdir(dir, { recursive: true });
    const input = join(dir, 'source.heic');
    const output = join(dir, outputName);
    await rm(input, { force: true });
    await writeStreamAtomic(input, source.open({ signal: ctx.signal }), { durable: false, noClobber: false, signal: ctx.signal });
    this.pool ??= acquireSharedPool(this.options.concurrency);
    try {
      const result = await this.pool.run({ input, output, quality: this.options.quality, ...choice, workDir: join(dir, 'work') });
      for (const warning of result.warnings) this.logger.warn(`heic-to-jpeg: ${source.name}: ${warning}`, { assetId: asset.id });
      this.logger.debug(`heic-to-jpeg: converted ${source.name}`, { assetId: asset.id, decoder: result.decoder, bytes: result.bytes, ...(result.fallbackReason ? { fallbackReason: result.fallbackReason } : {}) });
      return { path: output, result };
    } catch (err) {
      const reason = err instanceof WorkerJobError ? err.message : `the converter stopped (${(err as Error).message})`;
      throw heicDecodeFailed(source.name, reason, { assetId: asset.id, resource: source.name, contribution: TRANSFORM_ID, stage: 'transform', cause: err });
    } finally {
      await rm(input, { force: true });
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool && this.pool) await releaseSharedPool();
    this.pool = undefined;
  }
}

export function createHeicToJpegTransform(options: HeicToJpegOptions, deps: HeicToJpegDeps): HeicToJpegTransform {
  return new HeicToJpegTransform(options, deps);
}
