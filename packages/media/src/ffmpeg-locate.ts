/**
 * Finds the ffmpeg binary for the plugins that run it (Live Photo video, HEIC decoding):
 * `FFMPEG_PATH` → `ffmpeg-static`'s binary → `ffmpeg` on `PATH`.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { KeepsakeError } from '@keepsake/core';

/** Where the ffmpeg binary came from, for logs and `keepsake doctor`. */
export type FfmpegOrigin = 'FFMPEG_PATH' | 'ffmpeg-static' | 'PATH';

export interface ResolvedFfmpeg {
  path: string;
  origin: FfmpegOrigin;
}

export const FFMPEG_INSTALL_HINT =
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
      hint: `Fix or unset FFMPEG_PATH. ${FFMPEG_INSTALL_HINT}`,
      classification: 'fatal',
    });
  }
  const bundled = ffmpegStaticBinary(requireModule);
  if (bundled) return { path: bundled, origin: 'ffmpeg-static' };
  const found = onPath(env);
  if (found) return { path: found, origin: 'PATH' };
  throw new KeepsakeError('FFMPEG_NOT_FOUND', 'ffmpeg was not found (FFMPEG_PATH unset, no ffmpeg-static binary, no ffmpeg on PATH)', {
    hint: FFMPEG_INSTALL_HINT,
    classification: 'fatal',
  });
}
