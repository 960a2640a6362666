import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { notifierCommand, summaryText } from './notify.js';
import { installService, launchAgentPlist, serviceEnv, servicePlan, serviceStatus, systemdUnit, windowsTaskXml } from './service.js';

const spec = {
  node: '/opt/node 24/bin/node',
  cli: '/opt/keepsake/dist/bin.js',
  configPath: '/home/me/My Photos/keepsake.config.json',
  logDir: '/home/me/.local/state/keepsake/logs',
  env: { KEEPSAKE_DATA_DIR: '/home/me/100%/data' },
  home: '/home/me',
};

describe('service definitions', () => {
  it('systemd user unit: quoted ExecStart, escaped %, restart policy, logs to the log dir', () => {
    const unit = systemdUnit(spec);
    expect(unit).toContain('ExecStart="/opt/node 24/bin/node" "/opt/keepsake/dist/bin.js" "watch" "--config" "/home/me/My Photos/keepsake.config.json"');
    expect(unit).toContain('Environment="KEEPSAKE_DATA_DIR=/home/me/100%%/data"');
    expect(unit).toMatch(/Restart=on-failure/);
    expect(unit).toContain('StandardOutput=append:/home/me/.local/state/keepsake/logs/watch.log');
    expect(unit).toMatch(/\[Install\]\nWantedBy=default.target/);
    expect(servicePlan('linux', spec).file).toBe('/home/me/.config/systemd/user/keepsake-watch.service');
  });

  it('the unit passes systemd-analyze verify where available', () => {
    const probe = spawnSync('systemd-analyze', ['--version']);
    if (probe.status !== 0) return; // systemd not installed here; the format is checked above
    const dir = mkdtempSync(join(tmpdir(), 'unit-'));
    // a folder name with a space, a specifier % and a $: verify resolves ExecStart's binary, so a wrong escape fails
    const odd = join(dir, 'a b%c$d');
    mkdirSync(odd);
    symlinkSync(process.execPath, join(odd, 'node'));
    const file = join(dir, 'keepsake-watch.service');
    writeFileSync(join(odd, 'bin.js'), '');
    writeFileSync(file, systemdUnit({ ...spec, node: join(odd, 'node'), cli: join(odd, 'bin.js'), logDir: odd }));
    // the user manager needs a runtime dir even to verify; CI containers often have none
    const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? dir };
    const r = spawnSync('systemd-analyze', ['verify', '--user', file], { encoding: 'utf8', env });
    expect(r.stderr).not.toMatch(/Failed to initialize manager/);
    expect(r.stderr.split('\n').filter((l) => l.includes('keepsake-watch.service') && !/Failed to (connect|create)|bus/i.test(l))).toEqual([]);
  });

  it('LaunchAgent plist: label, argv array, RunAtLoad, KeepAlive on failure, escaped XML', () => {
    const plist = launchAgentPlist({ ...spec, configPath: '/Users/me/a&b/keepsake.config.json' });
    expect(plist).toContain('<string>dev.keepsake.watch</string>');
    expect(plist).toContain('<string>/Users/me/a&amp;b/keepsake.config.json</string>');
    expect(plist).toMatch(/<key>RunAtLoad<\/key>\s*<true\/>/);
    expect(plist).toMatch(/<key>SuccessfulExit<\/key>\s*<false\/>/);
    const lint = spawnSync('plutil', ['-lint', '-'], { input: plist });
    if (lint.status !== null && !lint.error) expect(lint.status).toBe(0);
    expect(servicePlan('darwin', spec).file).toBe('/home/me/Library/LaunchAgents/dev.keepsake.watch.plist');
  });

  it('Task Scheduler XML: logon trigger, no time limit, restart on failure, output appended to the log', () => {
    const xml = windowsTaskXml({ ...spec, node: 'C:\\Program Files\\nodejs\\node.exe', cli: 'C:\\keepsake\\bin.js', logDir: 'C:\\Users\\me\\AppData\\Local\\keepsake\\logs' });
    expect(xml).toContain('<LogonTrigger>');
    expect(xml).toContain('<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>');
    expect(xml).toContain('<RestartOnFailure>');
    expect(xml).toContain('&quot;C:\\Program Files\\nodejs\\node.exe&quot; C:\\keepsake\\bin.js watch');
    expect(xml).toContain('&gt;&gt; &quot;C:\\Users\\me\\AppData\\Local\\keepsake\\logs/watch.log&quot; 2&gt;&amp;1'.replace('/watch.log', `${sep}watch.log`));
    expect(servicePlan('win32', spec).install[0]).toEqual(['schtasks', '/Create', '/TN', 'keepsake-watch', '/XML', servicePlan('win32', spec).file, '/F']);
  });
});

describe('service definitions on real paths', () => {
  it('systemd: a literal $ in ExecStart is $$ (else a braced variable is substituted), % in the log path is %%, Environment= keeps $ as is', () => {
    const folder = ['/home/me/$', '{proj}'].join('');
    const unit = systemdUnit({ ...spec, configPath: `${folder}/keepsake.config.json`, logDir: '/home/me/100%/logs', env: { KEEPSAKE_DATA_DIR: '/home/me/$x' } });
    expect(unit).toContain(`"--config" "${folder.split('$').join('$$')}/keepsake.config.json"`);
    expect(unit).toContain('StandardOutput=append:/home/me/100%%/logs/watch.log');
    expect(unit).toContain('Environment="KEEPSAKE_DATA_DIR=/home/me/$x"');
  });

  it('Task Scheduler: the whole cmd line is wrapped for cmd /s /c, so a quoted node path (Program Files) survives quote stripping', () => {
    const win = { ...spec, node: 'C:\\Program Files\\nodejs\\node.exe', cli: 'C:\\keepsake\\bin.js', logDir: 'C:\\Users\\me\\logs', env: {}, configPath: 'C:\\My Photos\\keepsake.config.json' };
    const args = /<Arguments>(.*)<\/Arguments>/.exec(windowsTaskXml(win, 'PC\\me'))![1]!.replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    const m = /^\/d \/s \/c "(.*)"$/.exec(args);
    expect(m).not.toBeNull();
    // what cmd runs after /s strips the outer pair: the node path still quoted as one word
    expect(m![1]!.startsWith('"C:\\Program Files\\nodejs\\node.exe" C:\\keepsake\\bin.js watch --config "C:\\My Photos\\keepsake.config.json" >> "')).toBe(true);
  });

  it('Task Scheduler: UserId is a real account (Task Scheduler does not expand %USERNAME% in the XML)', () => {
    const plan = servicePlan('win32', { ...spec, user: 'DESKTOP-1\\Zoë & co' });
    expect(plan.content).toContain('<UserId>DESKTOP-1\\Zoë &amp; co</UserId>');
    expect(plan.content).not.toContain('%USERNAME%');
    expect(windowsTaskXml(spec, 'PC\\me')).not.toContain('%USER');
  });

  it('the plist parses as a property list with the exact argv and environment', () => {
    const odd = { ...spec, node: '/Users/zoë/.nvm/versions/node/v24/bin/node', configPath: '/Users/me/<a> & "b"/100% $x.json', env: { PATH: '/opt/homebrew/bin:/usr/bin', KEEPSAKE_DATA_DIR: '/Users/me/a&b' } };
    const py = spawnSync('python3', ['-c', 'import plistlib,sys,json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'], { input: launchAgentPlist(odd) });
    if (py.error || py.status === null) return; // no python here
    expect(py.status).toBe(0);
    const parsed = JSON.parse(py.stdout.toString());
    expect(parsed.ProgramArguments).toEqual([odd.node, odd.cli, 'watch', '--config', odd.configPath]);
    expect(parsed.EnvironmentVariables).toEqual(odd.env);
    expect(parsed.KeepAlive).toEqual({ SuccessfulExit: false });
  });
});

describe('environment the service gets', () => {
  it('carries PATH (systemd/launchd give a minimal one), XDG dirs and every KEEPSAKE_* override, never the backup password', () => {
    const env = {
      PATH: '/opt/homebrew/bin:/usr/bin',
      HOME: '/home/me',
      XDG_DATA_HOME: '/data/me',
      XDG_STATE_HOME: '/state/me',
      KEEPSAKE_LOG: 'debug',
      KEEPSAKE_SECRET_STORE: 'file',
      KEEPSAKE_BACKUP_PASSWORD: 'hunter2',
      HEIF_CONVERT_PATH: '/opt/bin/heif-convert',
      FFMPEG_PATH: '/opt/bin/ffmpeg',
      USBMUXD_SOCKET_ADDRESS: '127.0.0.1:27015',
      TERM: 'xterm',
    };
    const linux = serviceEnv(env, 'linux');
    expect(linux).toEqual({
      PATH: '/opt/homebrew/bin:/usr/bin',
      XDG_DATA_HOME: '/data/me',
      XDG_STATE_HOME: '/state/me',
      KEEPSAKE_LOG: 'debug',
      KEEPSAKE_SECRET_STORE: 'file',
      HEIF_CONVERT_PATH: '/opt/bin/heif-convert',
      FFMPEG_PATH: '/opt/bin/ffmpeg',
      USBMUXD_SOCKET_ADDRESS: '127.0.0.1:27015',
    });
    // a logon task already runs with the user's full environment (PATH from the registry)
    expect(serviceEnv({ ...env, Path: 'C:\\Windows' }, 'win32').PATH).toBeUndefined();
    expect(serviceEnv({ ...env, Path: 'C:\\Windows' }, 'win32').Path).toBeUndefined();
  });
});

describe('install, re-install, status', () => {
  const fake = (fail: (cmd: string[]) => boolean = () => false) => {
    const calls: string[][] = [];
    return {
      calls,
      opts: {
        exists: () => true,
        run: (cmd: string[]) => {
          calls.push(cmd);
          return { ok: !fail(cmd), out: fail(cmd) ? 'not loaded' : '' };
        },
      },
    };
  };
  const tmpSpec = () => {
    const dir = mkdtempSync(join(tmpdir(), 'svc-'));
    return { ...spec, home: dir, logDir: join(dir, 'logs') };
  };

  it('systemd: re-install restarts the running unit so the new ExecStart takes effect', async () => {
    const s = tmpSpec();
    const f = fake();
    const r = await installService(servicePlan('linux', s), s.logDir, f.opts);
    expect(r.ok).toBe(true);
    expect(f.calls).toContainEqual(['systemctl', '--user', 'restart', 'keepsake-watch.service']);
    expect(f.calls.findIndex((c) => c[2] === 'daemon-reload')).toBeLessThan(f.calls.findIndex((c) => c[2] === 'restart'));
    expect(servicePlan('linux', s).notes.join(' ')).toContain('loginctl enable-linger');
  });

  it('launchd: re-install unloads the loaded agent first (bootstrap of a loaded label fails) and a not-loaded agent is no failure', async () => {
    const s = tmpSpec();
    const f = fake((c) => c[1] === 'bootout');
    const plan = servicePlan('darwin', s);
    const r = await installService(plan, s.logDir, f.opts);
    expect(r.ok).toBe(true);
    const out = f.calls.findIndex((c) => c[1] === 'bootout');
    const boot = f.calls.findIndex((c) => c[1] === 'bootstrap');
    expect(out).toBeGreaterThanOrEqual(0);
    expect(out).toBeLessThan(boot);
  });

  it('Task Scheduler: install starts the task now, uninstall ends the running instance before deleting', async () => {
    const s = tmpSpec();
    const plan = servicePlan('win32', { ...s, user: 'PC\\me' });
    const f = fake((c) => c[1] === '/End');
    expect((await installService(plan, s.logDir, f.opts)).ok).toBe(true);
    expect(f.calls.at(-1)).toEqual(['schtasks', '/Run', '/TN', 'keepsake-watch']);
    expect(plan.uninstall[0]).toEqual(['schtasks', '/End', '/TN', 'keepsake-watch']);
  });

  it('status is not ok when the file is there but the manager says it is not running', async () => {
    const s = tmpSpec();
    const plan = servicePlan('linux', s);
    await installService(plan, s.logDir, fake().opts);
    const down = serviceStatus(plan, fake((c) => c[2] === 'status').opts);
    expect(down.ok).toBe(false);
    expect(down.lines.join('\n')).toMatch(/not running/);
    expect(serviceStatus(plan, fake().opts).ok).toBe(true);
  });
});

describe('notifications', () => {
  it('picks the platform notifier when it exists, none otherwise', () => {
    expect(notifierCommand('linux', 't', 'b', () => true)).toEqual(['notify-send', '--app-name=keepsake', 't', 'b']);
    expect(notifierCommand('linux', 't', 'b', () => false)).toBeUndefined();
    expect(notifierCommand('darwin', 'keepsake', 'say "hi"', () => true)?.[2]).toBe('display notification "say \\"hi\\"" with title "keepsake"');
    expect(notifierCommand('win32', "it's", 'b', () => true)?.[4]).toContain("CreateTextNode('it''s')");
    expect(summaryText({ device: 'iPhone', copied: 12, failed: 1, atRisk: 0 })).toBe('iPhone: 12 copied, 1 failed, 0 at risk');
  });
});
