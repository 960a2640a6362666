import { execFile } from 'node:child_process';
import { KeepsakeError } from '@keepsake/core';

/**
 * Imports files into the Photos library that is open (the System Photo Library is the one that
 * syncs with iCloud Photos). The script is constant and every path travels as an argument to
 * `on run argv`, so no file or album name is ever spliced into AppleScript source.
 *
 * `with skip check duplicates` turns Photos' duplicate check OFF: otherwise Photos may show a
 * modal "already imported" dialog that stalls an unattended run. keepsake dedupes from its ledger.
 * A Live Photo's still and video go in one `import` call so Photos can pair them.
 */
export const PHOTOS_IMPORT_SCRIPT = [
  'on run argv',
  '  set albumSpec to item 1 of argv',
  '  set fileList to {}',
  '  repeat with i from 2 to count of argv',
  '    set end of fileList to (POSIX file (item i of argv)) as alias',
  '  end repeat',
  '  with timeout of 600 seconds',
  '    tell application "Photos"',
  '      if (length of albumSpec) > 6 then',
  '        set albumName to text 7 thru -1 of albumSpec',
  '        if not (exists album albumName) then make new album named albumName',
  '        set imported to import fileList into album albumName with skip check duplicates',
  '      else',
  '        set imported to import fileList with skip check duplicates',
  '      end if',
  '      set out to ""',
  '      repeat with m in imported',
  '        set out to out & (id of m) & linefeed',
  '      end repeat',
  '      return out',
  '    end tell',
  '  end timeout',
  'end run',
];

/** argv for `osascript`: one `-e` per script line, then `album=<name>` and the absolute file paths. */
export function photosImportArgs(files: string[], album: string | undefined): string[] {
  for (const f of files) {
    if (!f.startsWith('/')) throw new Error(`Photos import needs absolute POSIX paths, got "${f}"`);
    if (/[\u0000-\u001f]/.test(f)) throw new Error(`Photos import path has control characters: ${JSON.stringify(f)}`);
  }
  // the fixed `album=` prefix keeps an album name starting with "-" from looking like an option
  return [...PHOTOS_IMPORT_SCRIPT.flatMap((line) => ['-e', line]), `album=${album ?? ''}`, ...files];
}

export type RunOsascript = (args: string[], options: { timeoutMs: number; signal: AbortSignal }) => Promise<{ stdout: string; stderr: string }>;

export const runOsascript: RunOsascript = (args, { timeoutMs, signal }) =>
  new Promise((resolve, reject) => {
    execFile('osascript', args, { timeout: timeoutMs, signal, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });

/** Runs the import; returns the Photos media item ids it created, in Photos' order. */
export async function importIntoPhotos(
  files: string[],
  album: string | undefined,
  run: RunOsascript,
  signal: AbortSignal,
  timeoutMs = 11 * 60 * 1000,
): Promise<string[]> {
  let out: { stdout: string; stderr: string };
  try {
    out = await run(photosImportArgs(files, album), { timeoutMs, signal });
  } catch (err) {
    throw mapOsascriptError(err, files);
  }
  const ids = out.stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (ids.length === 0) {
    throw new KeepsakeError('ICLOUD_IMPORT_EMPTY', `Photos imported nothing from ${files.join(', ')}`, {
      classification: 'permanent',
      location: files[0],
      hint: 'Photos may not read this format, or it failed silently after many imports (restart Photos and run again).',
    });
  }
  return ids;
}

/** AppleScript error numbers that tell the user what to do. */
export function mapOsascriptError(err: unknown, files: string[]): KeepsakeError {
  const e = err as { code?: string | number; stderr?: string; message?: string; killed?: boolean; name?: string };
  const text = `${e.stderr ?? ''} ${e.message ?? ''}`;
  const location = files[0];
  if (e.name === 'AbortError') return new KeepsakeError('ABORTED', 'The run was cancelled', { cause: err, classification: 'fatal' });
  if (e.code === 'ENOENT') {
    return new KeepsakeError('NOT_SUPPORTED', 'osascript was not found: the Photos.app import works only on macOS', {
      cause: err,
      classification: 'fatal',
      hint: 'On other systems set `mode: folder` and `path`.',
    });
  }
  if (/-1743|Not authori[sz]ed to send Apple events/i.test(text)) {
    return new KeepsakeError('ICLOUD_AUTOMATION_DENIED', 'macOS did not allow keepsake to control Photos', {
      cause: err,
      location,
      classification: 'fatal',
      hint: 'System Settings → Privacy & Security → Automation: allow your terminal (or keepsake) to control Photos, then run again.',
    });
  }
  if (/-600|isn.t running|-10810/i.test(text)) {
    return new KeepsakeError('ICLOUD_PHOTOS_UNAVAILABLE', 'Photos could not be started (no logged-in desktop session?)', {
      cause: err,
      location,
      classification: 'fatal',
      hint: 'Run keepsake from a logged-in macOS desktop session, not from cron, launchd or SSH.',
    });
  }
  if (e.killed || /-1712|timed out/i.test(text)) {
    return new KeepsakeError('TIMEOUT', 'Photos did not finish the import in time', {
      cause: err,
      location,
      classification: 'retryable',
      hint: 'Photos can slow down after many imports; quitting and reopening Photos helps.',
    });
  }
  return new KeepsakeError('SINK_WRITE_FAILED', `Photos refused the import: ${(e.stderr ?? e.message ?? String(err)).trim()}`, {
    cause: err,
    location,
    classification: 'permanent',
    hint: 'If Photos reports an unrecognised format after many imports, quit and reopen Photos and run again.',
  });
}
