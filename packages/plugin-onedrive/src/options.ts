import type { ConflictBehavior } from './graph-types.js';

/** Options of the `onedrive` sink after the host merged the manifest's defaults. */
export interface OneDriveOptions {
  /** Folder template under the drive root. */
  path: string;
  clientId: string;
  tenant: string;
  conflict: ConflictBehavior;
  fragmentSize: number;
  simpleUploadMaxBytes: number;
  concurrency: number;
  endpoint: string;
  authority: string;
}

export const DEFAULT_OPTIONS: Omit<OneDriveOptions, 'clientId'> = {
  path: 'Pictures/keepsake/{yyyy}/{MM}',
  tenant: 'consumers',
  conflict: 'rename',
  fragmentSize: 10 * 1024 * 1024,
  simpleUploadMaxBytes: 4 * 1024 * 1024,
  concurrency: 4,
  endpoint: 'https://graph.microsoft.com/v1.0',
  authority: 'https://login.microsoftonline.com',
};

/** Fragment sizes must be multiples of 320 KiB (Graph rejects others) and under 60 MiB. */
export const FRAGMENT_UNIT = 320 * 1024;
export const MAX_FRAGMENT = 60 * 1024 * 1024;
/** OneDrive's largest file. */
export const MAX_FILE_BYTES = 250 * 1024 ** 3;
/** Delegated permissions keepsake asks for; offline_access yields a refresh token. */
export const SCOPE = 'Files.ReadWrite offline_access';

/** Fills defaults (the host does this too) and normalises URLs; called by the factory. */
export function resolveOptions(input: Partial<OneDriveOptions> & { clientId: string }): OneDriveOptions {
  const o = { ...DEFAULT_OPTIONS, ...input } as OneDriveOptions;
  o.endpoint = o.endpoint.replace(/\/+$/, '');
  o.authority = o.authority.replace(/\/+$/, '');
  // Round down to the unit so a hand-written size still works.
  o.fragmentSize = Math.max(FRAGMENT_UNIT, Math.min(MAX_FRAGMENT - FRAGMENT_UNIT, Math.floor(o.fragmentSize / FRAGMENT_UNIT) * FRAGMENT_UNIT));
  return o;
}

export function tokenUrl(o: Pick<OneDriveOptions, 'authority' | 'tenant'>): string {
  return `${o.authority}/${encodeURIComponent(o.tenant)}/oauth2/v2.0/token`;
}

export function deviceCodeUrl(o: Pick<OneDriveOptions, 'authority' | 'tenant'>): string {
  return `${o.authority}/${encodeURIComponent(o.tenant)}/oauth2/v2.0/devicecode`;
}

/** Secret-store key of one login: app + authority + tenant (the drive is found after login). */
export function tokenKey(o: Pick<OneDriveOptions, 'authority' | 'tenant' | 'clientId'>): string {
  return `keepsake:onedrive:${o.clientId}@${o.authority}/${o.tenant}`;
}
