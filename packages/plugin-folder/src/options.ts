import { stat } from 'node:fs/promises';
import { checkTemplate, KeepsakeError, resolveUserPath } from '@keepsake/core';

export interface FolderSourceConfig {
  path: string;
  recursive?: boolean;
  include?: string[];
  exclude?: string[];
}

export interface FolderSinkConfig {
  path: string;
  template?: string;
  offsite?: boolean;
  verify?: 'read-back' | 'none';
}

export const FOLDER_SINK_DEFAULTS = { template: '{yyyy}/{MM}', offsite: false, verify: 'read-back' } as const;

/** Resolves an option path against the config folder and checks it is an existing folder. */
export async function existingFolder(path: string, configDir: string, role: 'source' | 'sink'): Promise<string> {
  const abs = resolveUserPath(configDir, path);
  const st = await stat(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new KeepsakeError(role === 'source' ? 'SOURCE_READ_FAILED' : 'SINK_WRITE_FAILED', `Cannot open ${abs} (${err.code})`, {
      stage: 'config',
      location: abs,
      cause: err,
      hint: 'Check the path and its permissions.',
    });
  });
  if (!st) {
    throw new KeepsakeError(role === 'source' ? 'SOURCE_READ_FAILED' : 'SINK_NOT_FOUND', `Folder ${abs} does not exist`, {
      stage: 'config',
      location: abs,
      classification: 'fatal',
      hint:
        role === 'source'
          ? 'Connect the card or drive, or fix `path` in the config.'
          : `Mount the drive, or create the folder first (mkdir -p "${abs}"); keepsake does not create it, so an unmounted disk is never mistaken for an empty one.`,
    });
  }
  if (!st.isDirectory()) {
    throw new KeepsakeError('OPTION_INVALID', `${abs} is not a folder`, { stage: 'config', location: abs, hint: '`path` must name a folder.' });
  }
  return abs;
}

export function checkSinkOptions(o: FolderSinkConfig): Required<FolderSinkConfig> {
  const merged = { ...FOLDER_SINK_DEFAULTS, ...o };
  checkTemplate(merged.template);
  if (merged.verify !== 'read-back' && merged.verify !== 'none') {
    throw new KeepsakeError('OPTION_INVALID', `verify must be "read-back" or "none" (got ${JSON.stringify(merged.verify)})`, { stage: 'config' });
  }
  return merged;
}
