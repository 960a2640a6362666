import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { notifierCommand, summaryText } from './notify.js';
import { launchAgentPlist, servicePlan, systemdUnit, windowsTaskXml } from './service.js';

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
    const file = join(dir, 'keepsake-watch.service');
    // verify checks that ExecStart's binary exists: point it at this node and a real file
    writeFileSync(join(dir, 'bin.js'), '');
    writeFileSync(file, systemdUnit({ ...spec, node: process.execPath, cli: join(dir, 'bin.js'), logDir: dir }));
    const r = spawnSync('systemd-analyze', ['verify', '--user', file], { encoding: 'utf8' });
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

describe('notifications', () => {
  it('picks the platform notifier when it exists, none otherwise', () => {
    expect(notifierCommand('linux', 't', 'b', () => true)).toEqual(['notify-send', '--app-name=keepsake', 't', 'b']);
    expect(notifierCommand('linux', 't', 'b', () => false)).toBeUndefined();
    expect(notifierCommand('darwin', 'keepsake', 'say "hi"', () => true)?.[2]).toBe('display notification "say \\"hi\\"" with title "keepsake"');
    expect(notifierCommand('win32', "it's", 'b', () => true)?.[4]).toContain("CreateTextNode('it''s')");
    expect(summaryText({ device: 'iPhone', copied: 12, failed: 1, atRisk: 0 })).toBe('iPhone: 12 copied, 1 failed, 0 at risk');
  });
});
