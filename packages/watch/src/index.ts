/**
 * @keepsake/watch — back up when a phone is plugged in or a card appears, and run that as a
 * per-user service (systemd user unit, LaunchAgent, Task Scheduler logon task).
 * @packageDocumentation
 */
export * from './folder-monitor.js';
export * from './notify.js';
export * from './service.js';
export * from './watcher.js';
