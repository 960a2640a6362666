import { accessSync, constants, existsSync, statfsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { boolFlag, stringFlag } from '../args.js';
import { discoverPlugins, ledgerPathFor, loadOptionalConfig, openLedger } from '../context.js';
import { EXIT, type CommandHandler } from '../io.js';
import { createCliLogger } from '../logger.js';
import { formatBytes } from '../output/format.js';

type Status = 'ok' | 'warn' | 'fail';
interface Check {
  name: string;
  status: Status;
  detail: string;
  hint?: string;
}

const NODE_FLOOR = [22, 13] as const;

/** Install hints per tool and platform (Debian/Ubuntu, macOS Homebrew, Windows winget). */
const TOOL_HINTS: Record<string, Partial<Record<NodeJS.Platform, string>> & { default: string }> = {
  ffmpeg: { linux: 'sudo apt install ffmpeg', darwin: 'brew install ffmpeg', win32: 'winget install ffmpeg', default: 'install ffmpeg from https://ffmpeg.org' },
  'heif-convert': {
    linux: 'sudo apt install libheif-examples',
    darwin: 'brew install libheif',
    win32: 'install libheif (vcpkg) or use a keepsake build with bundled HEIC support',
    default: 'install libheif (its heif-convert tool)',
  },
  osascript: { darwin: 'part of macOS', default: 'only available on macOS (used by the macOS Photos import)' },
  usbmuxd: {
    linux: 'sudo apt install usbmuxd (and plug the iPhone in: the service starts on demand)',
    darwin: 'built into macOS; plug the iPhone in and unlock it',
    win32: 'install Apple Devices (Microsoft Store) or iTunes, which provide the Apple Mobile Device Service',
    default: 'install usbmuxd',
  },
};

function hintFor(tool: string): string {
  const h = TOOL_HINTS[tool];
  return h ? (h[process.platform] ?? h.default) : `install "${tool}" and make sure it is on PATH`;
}

export function findOnPath(tool: string, env: NodeJS.ProcessEnv): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = join(dir, tool + ext);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {}
    }
  }
  return undefined;
}

/** usbmuxd listens on a unix socket (Linux, macOS) or TCP 27015 (Windows); USBMUXD_SOCKET_ADDRESS overrides. */
async function checkUsbmuxd(env: NodeJS.ProcessEnv): Promise<{ ok: boolean; where: string }> {
  const override = env.USBMUXD_SOCKET_ADDRESS;
  let target: { path: string } | { host: string; port: number };
  if (override?.startsWith('UNIX:')) target = { path: override.slice(5) };
  else if (override) {
    const [host, port] = override.replace(/^TCP:/, '').split(':');
    target = { host: host || '127.0.0.1', port: Number(port) || 27015 };
  } else if (process.platform === 'win32') target = { host: '127.0.0.1', port: 27015 };
  else target = { path: '/var/run/usbmuxd' };
  const where = 'path' in target ? target.path : `${target.host}:${target.port}`;
  if ('path' in target && !existsSync(target.path)) return { ok: false, where };
  return new Promise((resolveCheck) => {
    const sock = connect(target as never);
    const done = (ok: boolean) => {
      sock.destroy();
      resolveCheck({ ok, where });
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export const doctorCommand: CommandHandler = async ({ args, cwd, env, stdout, stderr }) => {
  const checks: Check[] = [];
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const nodeOk = major > NODE_FLOOR[0] || (major === NODE_FLOOR[0] && minor >= NODE_FLOOR[1]);
  checks.push({
    name: 'Node.js',
    status: nodeOk ? 'ok' : 'fail',
    detail: `${process.versions.node} (needs ≥ ${NODE_FLOOR.join('.')})`,
    hint: nodeOk ? undefined : 'Install Node.js 24 LTS from https://nodejs.org or with your package manager.',
  });

  let loaded: Awaited<ReturnType<typeof loadOptionalConfig>>;
  try {
    loaded = await loadOptionalConfig(stringFlag(args, 'config'), cwd);
    checks.push(loaded ? { name: 'Config', status: 'ok', detail: loaded.path ?? '' } : { name: 'Config', status: 'warn', detail: `none in ${cwd}`, hint: 'keepsake init' });
  } catch (err) {
    checks.push({ name: 'Config', status: 'fail', detail: (err as Error).message, hint: (err as { hint?: string }).hint });
  }

  const ledgerPath = ledgerPathFor(loaded, env);
  try {
    await mkdir(dirname(ledgerPath), { recursive: true });
    accessSync(dirname(ledgerPath), constants.W_OK);
    const ledger = openLedger(loaded, env); // opens, migrates and proves SQLite (node:sqlite) works here
    ledger.close();
    const fs = statfsSync(dirname(ledgerPath));
    checks.push({ name: 'Ledger', status: 'ok', detail: `${ledgerPath} is writable (${formatBytes(fs.bavail * fs.bsize)} free)` });
  } catch (err) {
    checks.push({
      name: 'Ledger',
      status: 'fail',
      detail: `${ledgerPath}: ${(err as Error).message}`,
      hint: 'Set "ledger" in the config or KEEPSAKE_DATA_DIR to a writable folder.',
    });
  }

  const logger = createCliLogger((l) => stderr.write(`${l}\n`), 'error');
  const host = await discoverPlugins(loaded, { cwd, env, logger });
  const plugins = host.plugins();
  checks.push({ name: 'Plugins', status: plugins.length ? 'ok' : 'warn', detail: `${plugins.length} found (${plugins.map((p) => p.name).join(', ')})` });
  for (const p of plugins.filter((p) => !p.compatible)) {
    checks.push({ name: p.name, status: 'fail', detail: p.problem ?? 'cannot be used', hint: `Update ${p.name} to a version for this keepsake.` });
  }
  if (loaded) {
    try {
      host.validateConfig(loaded);
      checks.push({ name: 'Config options', status: 'ok', detail: 'every source, transform and sink is installed and its options are valid' });
    } catch (err) {
      checks.push({ name: 'Config options', status: 'fail', detail: (err as Error).message, hint: (err as { hint?: string }).hint });
    }
  }

  // Tools plugins declare in their manifest `requires`, plus usbmuxd when a plugin reads iPhones over USB.
  const required = new Map<string, { why: string[]; optional: boolean }>();
  for (const p of plugins) {
    for (const r of p.manifest?.requires ?? []) {
      const cur = required.get(r.tool) ?? { why: [], optional: true };
      cur.why.push(`${p.name}: ${r.why}`);
      cur.optional &&= r.optional === true;
      required.set(r.tool, cur);
    }
    if (p.manifest?.contributes.sources?.some((s) => s.id === 'iphone') && !required.has('usbmuxd')) {
      required.set('usbmuxd', { why: [`${p.name}: talks to iPhones over USB through usbmuxd`], optional: true });
    }
  }
  for (const [tool, { why, optional }] of required) {
    let found: string | undefined;
    if (tool === 'usbmuxd') {
      const r = await checkUsbmuxd(env);
      found = r.ok ? `socket ${r.where}` : undefined;
      if (!found) {
        checks.push({ name: tool, status: optional ? 'warn' : 'fail', detail: `no usbmuxd listening at ${r.where} (${why.join('; ')})`, hint: hintFor(tool) });
        continue;
      }
    } else {
      found = (tool === 'ffmpeg' && env.FFMPEG_PATH) || findOnPath(tool, env);
    }
    checks.push(
      found
        ? { name: tool, status: 'ok', detail: found }
        : { name: tool, status: optional ? 'warn' : 'fail', detail: `not found (${why.join('; ')})`, hint: hintFor(tool) },
    );
  }
  await host.dispose();

  const failed = checks.some((c) => c.status === 'fail');
  if (boolFlag(args, 'json')) {
    stdout.write(`${JSON.stringify({ ok: !failed, checks }, null, 2)}\n`);
  } else {
    const mark = { ok: '✓', warn: '!', fail: '✗' };
    for (const c of checks) {
      stdout.write(`${mark[c.status]} ${c.name}: ${c.detail}\n`);
      if (c.hint && c.status !== 'ok') stdout.write(`    → ${c.hint}\n`);
    }
    const warnings = checks.filter((c) => c.status === 'warn').length;
    stdout.write(
      failed
        ? '\nSome checks failed (✗); fix them before running.\n'
        : warnings
          ? `\nReady. ${warnings} optional item${warnings > 1 ? 's' : ''} (!) only matter for the plugins named.\n`
          : '\nAll good.\n',
    );
  }
  return failed ? EXIT.FAILED : EXIT.OK;
};
