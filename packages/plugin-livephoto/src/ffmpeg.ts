import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { abortError, KeepsakeError } from '@keepsake/core';

/** Where the ffmpeg binary came from, for logs and `keepsake doctor`. */
export type FfmpegOrigin = 'FFMPEG_PATH' | 'ffmpeg-static' | 'PATH';

export interface ResolvedFfmpeg {
  path: string;
  origin: FfmpegOrigin;
}

const INSTALL_HINT =
  'Install ffmpeg (Debian/Ubuntu: sudo apt install ffmpeg; macOS: brew install ffmpeg; Windows: winget install Gyan.FFmpeg), ' +
  'or add the ffmpeg-static package next to keepsake, or set FFMPEG_PATH to an ffmpeg binary.';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    if (process.platform !== 'win32') accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `ffmpeg-static` exports the path of the binary its postinstall downloads. The postinstall may
 * not have run (offline installs, pnpm without build scripts), so the file must really exist.
 */
function ffmpegStaticBinary(requireModule: (id: string) => unknown = createRequire(import.meta.url)): string | undefined {
  try {
    const path = requireModule('ffmpeg-static');
    return typeof path === 'string' && isExecutableFile(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function onPath(env: NodeJS.ProcessEnv): string | undefined {
  const names = process.platform === 'win32' ? ['ffmpeg.exe', 'ffmpeg'] : ['ffmpeg'];
  for (const dir of (env.PATH ?? env.Path ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Finds ffmpeg: `FFMPEG_PATH` → `ffmpeg-static`'s binary → `ffmpeg` on `PATH`. A set but wrong
 * `FFMPEG_PATH` is an error rather than a silent fallback: the user asked for that binary.
 * `requireModule` replaces this package's `require` (tests).
 */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env, requireModule?: (id: string) => unknown): ResolvedFfmpeg {
  const explicit = env.FFMPEG_PATH;
  if (explicit !== undefined && explicit !== '') {
    if (isExecutableFile(explicit)) return { path: explicit, origin: 'FFMPEG_PATH' };
    throw new KeepsakeError('FFMPEG_NOT_FOUND', `FFMPEG_PATH points to ${explicit}, which is not an executable file`, {
      location: explicit,
      hint: `Fix or unset FFMPEG_PATH. ${INSTALL_HINT}`,
      classification: 'fatal',
    });
  }
  const bundled = ffmpegStaticBinary(requireModule);
  if (bundled) return { path: bundled, origin: 'ffmpeg-static' };
  const found = onPath(env);
  if (found) return { path: found, origin: 'PATH' };
  throw new KeepsakeError('FFMPEG_NOT_FOUND', 'ffmpeg was not found (FFMPEG_PATH unset, no ffmpeg-static binary, no ffmpeg on PATH)', {
    hint: INSTALL_HINT,
    classification: 'fatal',
  });
}

export interface FfmpegRunResult {
  /** The last few KB of stderr (ffmpeg writes its diagnostics there). */
  stderr: string;
  exitCode: number;
}

const STDERR_TAIL = 16 * 1024;

/**
 * Runs ffmpeg with `args` (no shell). Resolves with the exit code and the tail of stderr; the caller
 * decides whether a non-zero exit is an error (probing with `-i` alone always exits 1). Abort kills it.
 */
export function runFfmpeg(ffmpeg: ResolvedFfmpeg, args: readonly string[], signal?: AbortSignal): Promise<FfmpegRunResult> {
  if (signal?.aborted) return Promise.reject(abortError(signal.reason));
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg.path, ['-hide_banner', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'], windowsHide: true });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > STDERR_TAIL * 2) stderr = stderr.slice(-STDERR_TAIL);
    });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') {
        reject(
          new KeepsakeError('FFMPEG_NOT_FOUND', `Could not start ffmpeg at ${ffmpeg.path} (${code})`, {
            location: ffmpeg.path,
            hint: INSTALL_HINT,
            cause: err,
            classification: 'fatal',
          }),
        );
      } else reject(err);
    });
    child.on('close', (exitCode) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(abortError(signal.reason));
      resolve({ stderr: stderr.slice(-STDERR_TAIL), exitCode: exitCode ?? -1 });
    });
  });
}

export interface ProbedStream {
  index: number;
  type: 'video' | 'audio' | 'data' | 'subtitle' | 'attachment';
  /** ffmpeg's codec name (`h264`, `hevc`, `aac`, `pcm_s16le`, `none` for Apple's mebx tracks). */
  codec: string;
}

const STREAM_LINE = /Stream #0:(\d+)[^:]*: (Video|Audio|Data|Subtitle|Attachment): ([\w-]+)/g;

/**
 * Lists the input's streams from `ffmpeg -i` (so only the ffmpeg binary is needed; ffmpeg-static
 * ships no ffprobe).
 */
export async function probeStreams(ffmpeg: ResolvedFfmpeg, input: string, signal?: AbortSignal): Promise<ProbedStream[]> {
  const { stderr } = await runFfmpeg(ffmpeg, ['-i', input], signal);
  const streams: ProbedStream[] = [];
  for (const m of stderr.matchAll(STREAM_LINE)) {
    streams.push({ index: Number(m[1]), type: m[2]!.toLowerCase() as ProbedStream['type'], codec: m[3]! });
  }
  if (streams.length === 0) {
    throw new KeepsakeError('VIDEO_UNREADABLE', `ffmpeg could not read ${input} as a video`, {
      location: input,
      hint: 'The file may be truncated or not a video; check it plays in a media player.',
      cause: lastLines(stderr),
    });
  }
  return streams;
}

/** The last meaningful lines of ffmpeg's stderr, for error messages. */
export function lastLines(stderr: string, count = 4): string {
  return stderr
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ');
}
