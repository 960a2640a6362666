/**
 * The native decoder: libheif's own `heif-convert` tool (Debian/Ubuntu `libheif-examples`,
 * Homebrew `libheif`). It decodes with libde265 and writes JPEG with libjpeg(-turbo) in one
 * process; keepsake then swaps its metadata segments for its own (see convert.ts).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { childStopSignal } from './child-stop.js';

export interface HeifTools {
  heifConvert: string;
  /** `heif-info`, used only for files with several top-level images, to find the primary one. */
  heifInfo: string | undefined;
}

/** Per-image limit for the native tool; a 48 MP HEIC takes a few seconds. */
const TOOL_TIMEOUT_MS = 120_000;

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, name)))) return join(dir, name);
  }
  return undefined;
}

/**
 * Finds `heif-convert`: the explicit path, else `HEIF_CONVERT_PATH`, else the PATH. Returns
 * undefined when there is none (the wasm decoder is used then).
 */
export async function findHeifTools(explicit: string | undefined, env: NodeJS.ProcessEnv): Promise<HeifTools | undefined> {
  const candidate = explicit ?? env.HEIF_CONVERT_PATH;
  const heifConvert = candidate ? ((await isExecutable(candidate)) ? candidate : undefined) : await onPath('heif-convert', env);
  if (!heifConvert) return undefined;
  const sibling = join(dirname(heifConvert), 'heif-info');
  const heifInfo = (await isExecutable(sibling)) ? sibling : await onPath('heif-info', env);
  return { heifConvert, heifInfo };
}

export class NativeDecodeError extends Error {
  override readonly name = 'NativeDecodeError';
}

function run(file: string, args: string[], signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: 4 << 20, signal: childStopSignal(signal) }, (err, stdout, stderr) => {
      if (err) {
        const detail = (stderr || stdout || err.message).trim().split('\n').slice(-3).join(' ');
        reject(new NativeDecodeError(`${file.split('/').pop()} failed: ${detail}`));
      } else resolve({ stdout, stderr });
    });
  });
}

/**
 * Index (0-based) of the primary image among the top-level images, in the order libheif lists
 * them — the order `heif-convert` numbers its `out-N.jpg` files.
 */
export function primaryIndexFromHeifInfo(output: string): number | undefined {
  const images = output.split('\n').filter((line) => line.startsWith('image: '));
  const index = images.findIndex((line) => /\bprimary\b/.test(line));
  return index === -1 ? undefined : index;
}

/**
 * Converts `input` to a JPEG in `workDir` (an empty folder of its own) and returns the JPEG
 * bytes of the primary image.
 */
export async function heifConvertToJpeg(tools: HeifTools, input: string, workDir: string, quality: number, signal?: AbortSignal): Promise<Uint8Array> {
  // no --quiet: heif-convert before libheif 1.13 (Ubuntu 22.04's 1.12) refuses it; its progress lines are just captured
  await run(tools.heifConvert, ['-q', String(quality), input, join(workDir, 'out.jpg')], signal);
  const written = (await readdir(workDir)).filter((n) => /^out(-\d+)?\.jpg$/.test(n));
  if (written.includes('out.jpg')) return readFile(join(workDir, 'out.jpg'));
  if (written.length === 0) throw new NativeDecodeError('heif-convert wrote no image');
  // Several top-level images (a stereo pair, a burst): pick the primary one.
  if (!tools.heifInfo) throw new NativeDecodeError('The file has several images and heif-info is missing to tell which is primary');
  const { stdout } = await run(tools.heifInfo, [input], signal);
  const index = primaryIndexFromHeifInfo(stdout);
  if (index === undefined || !written.includes(`out-${index + 1}.jpg`)) throw new NativeDecodeError('Could not tell which image is the primary one');
  return readFile(join(workDir, `out-${index + 1}.jpg`));
}
