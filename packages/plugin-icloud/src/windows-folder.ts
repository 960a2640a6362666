import { win32 } from 'node:path';

/**
 * Where iCloud for Windows keeps iCloud Photos. Apple documents `%USERPROFILE%\Pictures\iCloud
 * Photos\Photos` (iCloud for Windows 14+); versions up to 10.x had an `Uploads` folder next to it;
 * a 2022 report had `%USERPROFILE%\iCloudPhotos`. Pictures may be moved into OneDrive (Known
 * Folder Move). The path moved between versions, so probe instead of assuming one.
 */
export function windowsICloudPhotosCandidates(env: NodeJS.ProcessEnv): string[] {
  const profile = env.USERPROFILE ?? (env.HOMEDRIVE && env.HOMEPATH ? `${env.HOMEDRIVE}${env.HOMEPATH}` : undefined);
  const roots: string[] = [];
  if (profile) roots.push(win32.join(profile, 'Pictures'));
  if (env.OneDrive) roots.push(win32.join(env.OneDrive, 'Pictures'));
  const out: string[] = [];
  for (const pictures of roots) {
    out.push(win32.join(pictures, 'iCloud Photos', 'Photos'), win32.join(pictures, 'iCloud Photos', 'Uploads'));
  }
  if (profile) out.push(win32.join(profile, 'iCloudPhotos', 'Photos'), win32.join(profile, 'iCloudPhotos'));
  return out;
}

/** The first candidate that exists as a folder, or undefined with the list that was tried. */
export async function detectWindowsICloudPhotosFolder(
  env: NodeJS.ProcessEnv,
  isDirectory: (path: string) => Promise<boolean>,
): Promise<{ path: string | undefined; tried: string[] }> {
  const tried = windowsICloudPhotosCandidates(env);
  for (const candidate of tried) if (await isDirectory(candidate)) return { path: candidate, tried };
  return { path: undefined, tried };
}
