import { homedir } from 'node:os';
import { join, win32 } from 'node:path';

/**
 * Folders where Finder / iTunes keep backups on this OS (each holds one folder per device).
 * Windows has two: desktop iTunes under %APPDATA%, the Microsoft Store iTunes under %USERPROFILE%.
 * Linux has no standard place, so there the user gives `path`.
 */
export function defaultBackupRoots(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'win32') {
    const roots: string[] = [];
    if (env.APPDATA) roots.push(win32.join(env.APPDATA, 'Apple Computer', 'MobileSync', 'Backup'));
    if (env.USERPROFILE) roots.push(win32.join(env.USERPROFILE, 'Apple', 'MobileSync', 'Backup'));
    return roots;
  }
  if (platform === 'darwin') return [join(env.HOME ?? homedir(), 'Library', 'Application Support', 'MobileSync', 'Backup')];
  return [];
}
