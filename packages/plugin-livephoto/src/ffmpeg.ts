import { spawn } from 'node:child_process';
import { abortError, KeepsakeError } from '@keepsake/core';
import { FFMPEG_INSTALL_HINT, type FfmpegOrigin, type ResolvedFfmpeg, resolveFfmpeg } from '@keepsake/media';

// Located by @keepsake/media (shared with plugin-heic); re-exported for this package's users.
export { type FfmpegOrigin, type ResolvedFfmpeg, resolveFfmpeg };

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
            hint: FFMPEG_INSTALL_HINT,
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
