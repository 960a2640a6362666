import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { KeepsakeError } from '@keepsake/core';

export type ServicePlatform = 'linux' | 'darwin' | 'win32';

export interface ServiceSpec {
  /** Absolute path of the Node binary. */
  node: string;
  /** Absolute path of the keepsake CLI entry (bin.js). */
  cli: string;
  /** Config file the service watches with (absolute). */
  configPath?: string;
  /** Folder for the service's log files. */
  logDir: string;
  /** Extra environment (e.g. KEEPSAKE_DATA_DIR, USBMUXD_SOCKET_ADDRESS). */
  env?: Record<string, string>;
  home?: string;
  /** Windows account the logon task runs as (DOMAIN\\user); defaults to %USERDOMAIN%\\%USERNAME% of this process. */
  user?: string;
}

/** What `service install` writes and runs, per platform; `--dry-run` prints exactly this. */
export interface ServicePlan {
  platform: ServicePlatform;
  /** File written, and its content. */
  file: string;
  content: string;
  /** Commands run before writing, whose failure is expected when nothing is installed yet (stop/unload an older copy). */
  preinstall: string[][];
  /** Commands run after writing, to register and start it (or restart it, on a re-install). */
  install: string[][];
  /** Commands run to stop and unregister it (the file is then removed). */
  uninstall: string[][];
  status: string[];
  /** What the user should know about how the service runs on this platform. */
  notes: string[];
}

export const SERVICE_NAME = 'keepsake-watch';
export const LAUNCHD_LABEL = 'dev.keepsake.watch';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The environment the service needs from the installing shell. A systemd user unit and a LaunchAgent start
 * with a minimal PATH (/usr/bin:/bin…: no Homebrew, ~/.local/bin) and without the shell's XDG_* dirs or
 * KEEPSAKE_* overrides, so the watcher would miss ffmpeg/heif-convert and use another ledger and data dir.
 * A logon task already gets the user's full environment, PATH included. The backup password is not written
 * into a unit file (systemctl show prints Environment= to every user).
 */
export function serviceEnv(env: NodeJS.ProcessEnv, platform: ServicePlatform): Record<string, string> {
  const out: Record<string, string> = {};
  const tools = ['USBMUXD_SOCKET_ADDRESS', 'FFMPEG_PATH', 'HEIF_CONVERT_PATH'];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || v === '' || k === 'KEEPSAKE_BACKUP_PASSWORD') continue;
    const wanted =
      k.startsWith('KEEPSAKE_') || tools.includes(k) || (platform !== 'win32' && (k === 'PATH' || /^XDG_(DATA|CONFIG|STATE|CACHE)_HOME$/.test(k)));
    if (wanted) out[k] = v;
  }
  return out;
}

function watchArgs(spec: ServiceSpec): string[] {
  return [spec.cli, 'watch', ...(spec.configPath ? ['--config', spec.configPath] : [])];
}

/** systemd quoting: double quotes with backslash escapes, `%` doubled (specifier escape). */
function systemdQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

/**
 * An Exec*= argument: also `$` doubled, since `${X}` and a lone `$X` word are substituted from the environment.
 * Not the executable: it is taken literally (systemd-analyze verify: `a$$b/node` "is not executable").
 */
function systemdExecArg(s: string): string {
  return systemdQuote(s).replace(/\$/g, '$$$$');
}

export function systemdUnit(spec: ServiceSpec): string {
  const exec = [systemdQuote(spec.node), ...watchArgs(spec).map(systemdExecArg)].join(' ');
  // Environment= does no $ expansion (a `$$` would stay doubled), only specifiers
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`);
  // file:/append: paths are specifier-expanded too; the rest of the line is the path, spaces included
  const log = join(spec.logDir, 'watch.log').replace(/%/g, '%%');
  return [
    '[Unit]',
    'Description=keepsake: back up iPhone photos when a phone is plugged in',
    'Documentation=https://github.com/keepsake/keepsake#readme',
    'After=default.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    ...env,
    'Restart=on-failure',
    'RestartSec=10',
    `StandardOutput=append:${log}`,
    `StandardError=append:${log}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

export function launchAgentPlist(spec: ServiceSpec): string {
  const args = [spec.node, ...watchArgs(spec)].map((a) => `    <string>${xml(a)}</string>`).join('\n');
  const env = Object.entries(spec.env ?? {})
    .map(([k, v]) => `    <key>${xml(k)}</key>\n    <string>${xml(v)}</string>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
${env ? `  <key>EnvironmentVariables</key>\n  <dict>\n${env}\n  </dict>\n` : ''}  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ProcessType</key>
  <string>Background</string>
  <key>StandardOutPath</key>
  <string>${xml(join(spec.logDir, 'watch.log'))}</string>
  <key>StandardErrorPath</key>
  <string>${xml(join(spec.logDir, 'watch.log'))}</string>
</dict>
</plist>
`;
}

/** The account a logon task is for: Task Scheduler takes the XML's UserId literally (no %VAR% expansion). */
export function windowsUser(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.USERNAME || userInfo().username;
  return env.USERDOMAIN ? `${env.USERDOMAIN}\\${name}` : name;
}

/** Task Scheduler XML (schtasks /Create /XML): at logon of the given user, restart on failure. */
export function windowsTaskXml(spec: ServiceSpec, userId = spec.user ?? windowsUser()): string {
  const quote = (a: string) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a);
  // Task Scheduler has no log redirection: run through cmd so output lands in the log dir. With /s cmd strips
  // exactly the outer pair of quotes; without it, a line starting with a quote ("C:\Program Files\…") and
  // holding more than two quotes loses its first and last quote and no longer runs.
  const inner = [spec.node, ...watchArgs(spec)].map(quote).join(' ');
  const log = join(spec.logDir, 'watch.log');
  const envSet = Object.entries(spec.env ?? {})
    .map(([k, v]) => `set "${k}=${v}" && `)
    .join('');
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>keepsake: back up iPhone photos when a phone is plugged in</Description>
    <URI>\\${SERVICE_NAME}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>${xml(userId)}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>${xml(userId)}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>cmd.exe</Command>
      <Arguments>${xml(`/d /s /c "${envSet}${inner} >> "${log}" 2>&1"`)}</Arguments>
    </Exec>
  </Actions>
</Task>
`;
}

/** The file and commands for this platform (pure: nothing is written). */
export function servicePlan(platform: ServicePlatform, spec: ServiceSpec): ServicePlan {
  const home = spec.home ?? homedir();
  if (platform === 'linux') {
    const file = join(home, '.config', 'systemd', 'user', `${SERVICE_NAME}.service`);
    return {
      platform,
      file,
      content: systemdUnit(spec),
      preinstall: [],
      install: [
        ['systemctl', '--user', 'daemon-reload'],
        ['systemctl', '--user', 'enable', `${SERVICE_NAME}.service`],
        // restart, not `enable --now`: on a re-install the running watcher must pick up the new unit
        ['systemctl', '--user', 'restart', `${SERVICE_NAME}.service`],
      ],
      uninstall: [['systemctl', '--user', 'disable', '--now', `${SERVICE_NAME}.service`]],
      status: ['systemctl', '--user', 'status', '--no-pager', `${SERVICE_NAME}.service`],
      notes: [
        'It runs while you are logged in (systemd stops user services at your last logout).',
        'To keep it running without a login session (headless machine, after a reboot): loginctl enable-linger',
        `Logs: journalctl --user -u ${SERVICE_NAME} for start/stop, the watcher's own output in ${join(spec.logDir, 'watch.log')}`,
      ],
    };
  }
  if (platform === 'darwin') {
    const file = join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    const uid = String(process.getuid?.() ?? 501);
    return {
      platform,
      file,
      content: launchAgentPlist(spec),
      // bootstrap fails ("5: Input/output error") for a label that is already loaded: unload an older copy first
      preinstall: [['launchctl', 'bootout', `gui/${uid}/${LAUNCHD_LABEL}`]],
      install: [['launchctl', 'bootstrap', `gui/${uid}`, file]],
      uninstall: [['launchctl', 'bootout', `gui/${uid}/${LAUNCHD_LABEL}`]],
      status: ['launchctl', 'print', `gui/${uid}/${LAUNCHD_LABEL}`],
      notes: ['It runs while you are logged in, and starts again at each login.'],
    };
  }
  const file = join(spec.logDir, '..', `${SERVICE_NAME}.xml`);
  return {
    platform,
    file,
    content: windowsTaskXml(spec),
    // /Create /F replaces the definition but leaves a running instance on the old one
    preinstall: [['schtasks', '/End', '/TN', SERVICE_NAME]],
    // a logon task first runs at the next logon: start it now
    install: [
      ['schtasks', '/Create', '/TN', SERVICE_NAME, '/XML', file, '/F'],
      ['schtasks', '/Run', '/TN', SERVICE_NAME],
    ],
    uninstall: [
      ['schtasks', '/End', '/TN', SERVICE_NAME],
      ['schtasks', '/Delete', '/TN', SERVICE_NAME, '/F'],
    ],
    status: ['schtasks', '/Query', '/TN', SERVICE_NAME, '/V', '/FO', 'LIST'],
    notes: ['It runs while you are logged in, and starts again at each logon.'],
  };
}

export interface ServiceActionResult {
  ok: boolean;
  lines: string[];
}

export interface ServiceRunner {
  /** Runs a command; defaults to spawning it. */
  run?: (cmd: string[]) => { ok: boolean; out: string };
  /** Whether a command is on PATH; defaults to commandExists. */
  exists?: (cmd: string) => boolean;
}

function run(cmd: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.error) return { ok: false, out: `${cmd[0]}: ${(r.error as Error).message}` };
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Writes the unit/plist/task and registers it. Throws NOT_SUPPORTED where the service manager is missing. */
export async function installService(plan: ServicePlan, logDir: string, runner: ServiceRunner = {}): Promise<ServiceActionResult> {
  const exec = runner.run ?? run;
  const manager = plan.install[0]![0]!;
  if (!(runner.exists ?? commandExists)(manager)) {
    throw new KeepsakeError('NOT_SUPPORTED', `Cannot install the service: "${manager}" is not available on this machine`, {
      hint: plan.platform === 'linux' ? 'Run `keepsake watch` from your desktop session autostart instead, or install systemd.' : undefined,
    });
  }
  const lines: string[] = [];
  // an older copy may be running: stop/unload it (failing is expected when there is none)
  for (const cmd of plan.preinstall) {
    const r = exec(cmd);
    lines.push(`$ ${cmd.join(' ')}${r.ok ? '' : ' (nothing to stop)'}`);
  }
  await mkdir(logDir, { recursive: true });
  await mkdir(dirname(plan.file), { recursive: true });
  await writeFile(plan.file, plan.platform === 'win32' ? `\ufeff${plan.content}` : plan.content, plan.platform === 'win32' ? 'utf16le' : 'utf8');
  lines.push(`wrote ${plan.file}`);
  for (const cmd of plan.install) {
    const r = exec(cmd);
    lines.push(`$ ${cmd.join(' ')}${r.out ? `\n${r.out}` : ''}`);
    if (!r.ok) return { ok: false, lines };
  }
  return { ok: true, lines };
}

export async function uninstallService(plan: ServicePlan, runner: ServiceRunner = {}): Promise<ServiceActionResult> {
  const exec = runner.run ?? run;
  const lines: string[] = [];
  for (const cmd of plan.uninstall) {
    const r = exec(cmd);
    lines.push(`$ ${cmd.join(' ')}${r.out ? `\n${r.out}` : ''}`);
  }
  if (existsSync(plan.file)) {
    await rm(plan.file, { force: true });
    lines.push(`removed ${plan.file}`);
  }
  if (plan.platform === 'linux') exec(['systemctl', '--user', 'daemon-reload']);
  return { ok: true, lines };
}

/** ok only when the file is there and the service manager reports the service loaded/running. */
export function serviceStatus(plan: ServicePlan, runner: ServiceRunner = {}): ServiceActionResult {
  const installed = existsSync(plan.file);
  const lines = [`${plan.file}: ${installed ? 'installed' : 'not installed'}`];
  if (!installed) return { ok: false, lines };
  const manager = plan.status[0]!;
  if (!(runner.exists ?? commandExists)(manager)) {
    lines.push(`cannot ask ${manager} whether it is running: ${manager} is not available`);
    return { ok: false, lines };
  }
  // systemctl status exits 3 when inactive/failed, launchctl print non-zero when not loaded, schtasks when absent
  const r = (runner.run ?? run)(plan.status);
  lines.push(r.ok ? 'running' : 'not running', ...(r.out ? [r.out] : []));
  return { ok: r.ok, lines };
}

export function commandExists(cmd: string): boolean {
  const probe = process.platform === 'win32' ? spawnSync('where', [cmd]) : spawnSync('sh', ['-c', `command -v "$0"`, cmd]);
  return probe.status === 0;
}
