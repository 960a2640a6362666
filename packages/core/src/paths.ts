import { homedir } from 'node:os';
import { join } from 'node:path';

/** Per-user data dir: $XDG_DATA_HOME, ~/Library/Application Support, %LOCALAPPDATA%. Override: KEEPSAKE_DATA_DIR. */
export function dataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.KEEPSAKE_DATA_DIR) return env.KEEPSAKE_DATA_DIR;
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'keepsake');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'keepsake');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'keepsake');
}

/** Per-user config dir: $XDG_CONFIG_HOME, ~/Library/Preferences, %APPDATA%. Override: KEEPSAKE_CONFIG_DIR. */
export function configDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.KEEPSAKE_CONFIG_DIR) return env.KEEPSAKE_CONFIG_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'keepsake');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Preferences', 'keepsake');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'keepsake');
}

/** Per-user log dir: $XDG_STATE_HOME/keepsake/logs, ~/Library/Logs/keepsake, %LOCALAPPDATA%\keepsake\logs. */
export function logDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.KEEPSAKE_LOG_DIR) return env.KEEPSAKE_LOG_DIR;
  if (platform === 'win32') return join(dataDir(env, platform), 'logs');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Logs', 'keepsake');
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'keepsake', 'logs');
}

/** Default ledger location: `<data dir>/ledger.sqlite`. */
export function defaultLedgerPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  return join(dataDir(env, platform), 'ledger.sqlite');
}
