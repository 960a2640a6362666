/** Test helpers: an asset from fixture files, an independent EXIF reader, PSNR, the reference tool. */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Asset, mediaTypeOf, readFileStream, type Resource, silentLogger, type TransformContext } from '@keepsake/core';
import sharp from 'sharp';

/** `shared/` sits beside the repository checkout, locally and in CI; KEEPSAKE_FIXTURES overrides. */
export const FIXTURES = process.env.KEEPSAKE_FIXTURES ?? fileURLToPath(new URL('../../../../shared/fixtures/real', import.meta.url));

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const HAS_EXIFTOOL = has('exiftool');
export const HAS_HEIF_CONVERT = has('heif-convert');
export const HAS_HEIF_ENC = has('heif-enc');
export const HAS_FFMPEG = has('ffmpeg');

export function fileResource(path: string, role: Resource['role'] = 'original', withSize = true): Resource {
  const st = statSync(path);
  return {
    role,
    name: basename(path),
    key: path,
    size: withSize ? st.size : undefined,
    mtimeMs: st.mtimeMs,
    mediaType: mediaTypeOf(path),
    open: (o = {}) => readFileStream(path, o.offset === undefined ? {} : { offset: o.offset }),
  };
}

export function assetOf(id: string, ...resources: Resource[]): Asset {
  return { id, kind: 'photo', resources };
}

export function context(tempDir: string): TransformContext {
  return { signal: new AbortController().signal, logger: silentLogger, tempDir };
}

export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** exiftool's numeric JSON for one file (an independent reader). */
export function exiftool(path: string): Record<string, unknown> {
  const out = execFileSync('exiftool', ['-j', '-n', '-G1', path], { encoding: 'utf8' });
  return (JSON.parse(out) as Record<string, unknown>[])[0] as Record<string, unknown>;
}

/** Peak signal-to-noise ratio (dB) between two images of the same size, over RGB. */
export async function psnr(a: string | Buffer, b: string | Buffer): Promise<number> {
  const [ra, rb] = await Promise.all([a, b].map((x) => sharp(x).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  if (!ra || !rb) throw new Error('decode failed');
  if (ra.info.width !== rb.info.width || ra.info.height !== rb.info.height) throw new Error(`size differs: ${ra.info.width}x${ra.info.height} vs ${rb.info.width}x${rb.info.height}`);
  let se = 0;
  for (let i = 0; i < ra.data.length; i++) {
    const d = (ra.data[i] as number) - (rb.data[i] as number);
    se += d * d;
  }
  const mse = se / ra.data.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

/** The reference decoder's JPEG(s): `out.jpg`, or `out-N.jpg` for several top-level images. */
export function heifConvertReference(input: string, outDir: string, quality = 92): void {
  execFileSync('heif-convert', ['--quiet', '-q', String(quality), input, `${outDir}/out.jpg`], { stdio: 'ignore' });
}
