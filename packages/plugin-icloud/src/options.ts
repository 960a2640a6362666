import { checkTemplate, KeepsakeError } from '@keepsake/core';

export type ICloudMode = 'auto' | 'folder' | 'photos-app';

/** Options of the `icloud` sink after the host merged the manifest defaults. */
export interface ICloudOptions {
  mode: ICloudMode;
  path?: string;
  album?: string;
  stagingDir?: string;
  keepStaged: boolean;
}

export function normalizeICloudOptions(raw: Partial<ICloudOptions>): ICloudOptions {
  const o: ICloudOptions = { mode: 'auto', keepStaged: true, ...raw };
  if (!['auto', 'folder', 'photos-app'].includes(o.mode)) {
    throw new KeepsakeError('OPTION_INVALID', `icloud: unknown mode "${o.mode}"`, { stage: 'config', hint: 'Use auto, folder or photos-app.' });
  }
  if (o.album !== undefined) checkTemplate(o.album, 'album');
  return o;
}
