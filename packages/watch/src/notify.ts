import { spawn } from 'node:child_process';
import { commandExists } from './service.js';

export interface RunSummary {
  device: string;
  copied: number;
  failed: number;
  atRisk?: number;
}

export function summaryText(s: RunSummary): string {
  const parts = [`${s.copied} copied`];
  if (s.failed) parts.push(`${s.failed} failed`);
  if (s.atRisk !== undefined) parts.push(`${s.atRisk} at risk`);
  return `${s.device}: ${parts.join(', ')}`;
}

/** The notifier command for a platform, or undefined when none is available. */
export function notifierCommand(platform: NodeJS.Platform, title: string, body: string, exists = commandExists): string[] | undefined {
  if (platform === 'darwin' && exists('osascript')) {
    const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    return ['osascript', '-e', `display notification ${q(body)} with title ${q(title)}`];
  }
  if (platform === 'win32' && exists('powershell')) {
    const ps = (s: string) => s.replace(/'/g, "''");
    const script = [
      "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime] > $null",
      '$t = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)',
      `$t.GetElementsByTagName('text').Item(0).AppendChild($t.CreateTextNode('${ps(title)}')) > $null`,
      `$t.GetElementsByTagName('text').Item(1).AppendChild($t.CreateTextNode('${ps(body)}')) > $null`,
      "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('keepsake').Show([Windows.UI.Notifications.ToastNotification]::new($t))",
    ].join('; ');
    return ['powershell', '-NoProfile', '-NonInteractive', '-Command', script];
  }
  if (platform === 'linux' && exists('notify-send')) return ['notify-send', '--app-name=keepsake', title, body];
  return undefined;
}

/** Shows a desktop notification when a notifier exists; never throws (a missing notifier is fine). */
export function notify(title: string, body: string, platform: NodeJS.Platform = process.platform): boolean {
  const cmd = notifierCommand(platform, title, body);
  if (!cmd) return false;
  try {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: 'ignore', detached: false });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}
