import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
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
}

/** What `service install` writes and runs, per platform; `--dry-run` prints exactly this. */
export interface ServicePlan {
  platform: ServicePlatform;
  /** File written, and its content. */
  file: string;
  content: string;
  /** Commands run after writing, to register and start it. */
  install: string[][];
  /** Commands run to stop and unregister it (the file is then removed). */
  uninstall: string[][];
  status: string[];
}

export const SERVICE_NAME = 'keepsake-watch';
export const LAUNCHD_LABEL = 'dev.keepsake.watch';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function watchArgs(spec: ServiceSpec): string[] {
  return [spec.cli, 'watch', ...(spec.configPath ? ['--config', spec.configPath] : [])];
}

/** systemd quoting: double quotes with backslash escapes, `%` doubled (specifier escape). */
function systemdQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

export function systemdUnit(spec: ServiceSpec): string {
  const exec = [spec.node, ...watchArgs(spec)].map(systemdQuote).join(' ');
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`);
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
    `StandardOutput=append:${join(spec.logDir, 'watch.log')}`,
    `StandardError=append:${join(spec.logDir, 'watch.log')}`,
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

/** Task Scheduler XML (schtasks /Create /XML): at logon of the current user, restart on failure. */
export function windowsTaskXml(spec: ServiceSpec, userId = '%USERDOMAIN%\\%USERNAME%'): string {
  const quote = (a: string) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a);
  // Task Scheduler has no log redirection: run through cmd so output lands in the log dir
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
      <Arguments>${xml(`/d /c ${envSet}${inner} >> "${log}" 2>&1`)}</Arguments>
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
      install: [
        ['systemctl', '--user', 'daemon-reload'],
        ['systemctl', '--user', 'enable', '--now', `${SERVICE_NAME}.service`],
      ],
      uninstall: [['systemctl', '--user', 'disable', '--now', `${SERVICE_NAME}.service`]],
      status: ['systemctl', '--user', 'status', '--no-pager', `${SERVICE_NAME}.service`],
    };
  }
  if (platform === 'darwin') {
    const file = join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    const uid = String(process.getuid?.() ?? 501);
    return {
      platform,
      file,
      content: launchAgentPlist(spec),
      install: [['launchctl', 'bootstrap', `gui/${uid}`, file]],
      uninstall: [['launchctl', 'bootout', `gui/${uid}/${LAUNCHD_LABEL}`]],
      status: ['launchctl', 'print', `gui/${uid}/${LAUNCHD_LABEL}`],
    };
  }
  const file = join(spec.logDir, '..', `${SERVICE_NAME}.xml`);
  return {
    platform,
    file,
    content: windowsTaskXml(spec),
    install: [['schtasks', '/Create', '/TN', SERVICE_NAME, '/XML', file, '/F']],
    uninstall: [['schtasks', '/Delete', '/TN', SERVICE_NAME, '/F']],
    status: ['schtasks', '/Query', '/TN', SERVICE_NAME, '/V', '/FO', 'LIST'],
  };
}

export interface ServiceActionResult {
  ok: boolean;
  lines: string[];
}

function run(cmd: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.error) return { ok: false, out: `${cmd[0]}: ${(r.error as Error).message}` };
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Writes the unit/plist/task and registers it. Throws NOT_SUPPORTED where the service manager is missing. */
export async function installService(plan: ServicePlan, logDir: string): Promise<ServiceActionResult> {
  const manager = plan.install[0]![0]!;
  if (!commandExists(manager)) {
    throw new KeepsakeError('NOT_SUPPORTED', `Cannot install the service: "${manager}" is not available on this machine`, {
      hint: plan.platform === 'linux' ? 'Run `keepsake watch` from your desktop session autostart instead, or install systemd.' : undefined,
    });
  }
  await mkdir(logDir, { recursive: true });
  await mkdir(dirname(plan.file), { recursive: true });
  await writeFile(plan.file, plan.platform === 'win32' ? `\ufeff${plan.content}` : plan.content, plan.platform === 'win32' ? 'utf16le' : 'utf8');
  const lines = [`wrote ${plan.file}`];
  for (const cmd of plan.install) {
    const r = run(cmd);
    lines.push(`$ ${cmd.join(' ')}${r.out ? `\n${r.out}` : ''}`);
    if (!r.ok) return { ok: false, lines };
  }
  return { ok: true, lines };
}

export async function uninstallService(plan: ServicePlan): Promise<ServiceActionResult> {
  const lines: string[] = [];
  for (const cmd of plan.uninstall) {
    const r = run(cmd);
    lines.push(`$ ${cmd.join(' ')}${r.out ? `\n${r.out}` : ''}`);
  }
  if (existsSync(plan.file)) {
    await rm(plan.file, { force: true });
    lines.push(`removed ${plan.file}`);
  }
  if (plan.platform === 'linux') run(['systemctl', '--user', 'daemon-reload']);
  return { ok: true, lines };
}

export function serviceStatus(plan: ServicePlan): ServiceActionResult {
  const installed = existsSync(plan.file);
  const lines = [`${plan.file}: ${installed ? 'installed' : 'not installed'}`];
  if (installed && commandExists(plan.status[0]!)) lines.push(run(plan.status).out);
  return { ok: installed, lines };
}

export function commandExists(cmd: string): boolean {
  const probe = process.platform === 'win32' ? spawnSync('where', [cmd]) : spawnSync('sh', ['-c', `command -v "$0"`, cmd]);
  return probe.status === 0;
}
