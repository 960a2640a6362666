import { checkTemplate, KeepsakeError } from '@keepsake/core';

/** Options of the `gphotos` sink after the host merged the manifest defaults. */
export interface GPhotosOptions {
  clientId: string;
  clientSecret?: string;
  album?: string;
  description?: string;
  endpoint: string;
  authUrl: string;
  tokenUrl: string;
}

export const GPHOTOS_DEFAULTS = {
  endpoint: 'https://photoslibrary.googleapis.com',
  authUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
  tokenUrl: 'https://oauth2.googleapis.com/token',
} as const;

/**
 * The Library API scopes that still work for an uploader since 2025-03-31: upload, and read/edit
 * of what this app created. Requested on their own (Google refuses Photos + Drive in one consent).
 */
export const GPHOTOS_SCOPES = [
  'https://www.googleapis.com/auth/photoslibrary.appendonly',
  'https://www.googleapis.com/auth/photoslibrary.readonly.appcreateddata',
  'https://www.googleapis.com/auth/photoslibrary.edit.appcreateddata',
];

export function normalizeGPhotosOptions(raw: Partial<GPhotosOptions>): GPhotosOptions {
  const o = { ...GPHOTOS_DEFAULTS, ...raw } as GPhotosOptions;
  if (!o.clientId) {
    throw new KeepsakeError('OPTION_INVALID', 'The gphotos sink needs `clientId`', {
      stage: 'config',
      hint: 'Create a "Desktop app" OAuth client in Google Cloud console (see the plugin README) and set clientId and clientSecret.',
    });
  }
  if (o.album !== undefined) checkTemplate(o.album, 'album');
  if (o.description !== undefined) checkTemplate(o.description, 'description');
  o.endpoint = o.endpoint.replace(/\/+$/, '');
  return o;
}

/** Secret-store key of this client's tokens. */
export function tokenKey(o: Pick<GPhotosOptions, 'clientId'>): string {
  return `keepsake:gphotos:${o.clientId}`;
}
