import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { boolFlag, stringFlag, UsageError } from '../args.js';
import type { CommandHandler } from '../io.js';
import { EXIT } from '../io.js';

export const serviceCommand: CommandHandler = async (io) => {
  const { args } = io;
  const action = args.positionals[0];
  if (action !== 'install' && action !== 'uninstall' && action !== 'status') {
    throw new UsageError('Say what to do: keepsake service install | uninstall | status', 'service');
  }
  const { servicePlan, serviceEnv, windowsUser, installService, uninstallService, serviceStatus } = await import('@keepsake/watch');
  const { findConfigFile, logDir } = await import('@keepsake/core');
  const configFlag = stringFlag(args, 'config');
  const configPath = configFlag ? resolve(io.cwd, configFlag) : findConfigFile(io.cwd);
  if (action === 'install' && (!configPath || !existsSync(configPath))) {
    throw new UsageError('The service needs a config to watch with: run it in the folder with keepsake.config.json, or pass --config PATH', 'service');
  }
  const platform = (stringFlag(args, 'platform') ?? process.platform) as 'linux' | 'darwin' | 'win32';
  if (!['linux', 'darwin', 'win32'].includes(platform)) throw new UsageError(`No user-service support for ${platform}`, 'service');
  // PATH, XDG dirs and KEEPSAKE_* overrides of this shell: the service manager starts the watcher without them
  const env = serviceEnv(io.env, platform);
  const logs = logDir(io.env, platform);
  const plan = servicePlan(platform, {
    node: process.execPath,
    // the script this process was started as: the installed keepsake bin (symlinks resolved)
    cli: realpathSync(process.argv[1]!),
    configPath,
    logDir: logs,
    env,
    ...(platform === 'win32' ? { user: windowsUser(io.env) } : {}),
  });
  if (boolFlag(args, 'dry-run')) {
    const cmds = action === 'install' ? [...plan.preinstall, ...plan.install] : action === 'uninstall' ? plan.uninstall : [plan.status];
    io.stdout.write(
      `# ${action === 'install' ? 'would write' : 'file'} ${plan.file}\n${action === 'install' ? `${plan.content}\n` : ''}# then run:\n${cmds.map((c) => `${c.join(' ')}\n`).join('')}${action === 'install' ? plan.notes.map((n) => `# ${n}\n`).join('') : ''}`,
    );
    return EXIT.OK;
  }
  const result = action === 'install' ? await installService(plan, logs) : action === 'uninstall' ? await uninstallService(plan) : serviceStatus(plan);
  io.stdout.write(`${result.lines.join('\n')}\n`);
  if (action === 'install' && result.ok) {
    io.stdout.write(`keepsake watch is running and starts when you log in; logs go to ${logs}\n${plan.notes.map((n) => `${n}\n`).join('')}`);
    if (io.env.KEEPSAKE_BACKUP_PASSWORD) {
      io.stdout.write('KEEPSAKE_BACKUP_PASSWORD is not copied into the service definition: set the passwordFile option of the backup source in the config instead\n');
    }
  }
  return result.ok ? EXIT.OK : EXIT.FAILED;
};
