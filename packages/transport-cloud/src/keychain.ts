import { spawn } from 'node:child_process';
import { createFileSecretStore, type SecretStore } from '@keepsake/core';

/** Result of running a keychain helper. */
interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a helper with a timeout; secrets travel on stdin, never in argv (visible in `ps`). */
function run(cmd: string, args: string[], input: string | undefined, env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, windowsHide: true });
    } catch (err) {
      resolve({ code: null, stdout: '', stderr: String(err) });
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: null, stdout, stderr: stderr || String(err) }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.on('error', () => {});
    child.stdin!.end(input ?? '');
  });
}

class KeychainError extends Error {
  constructor(tool: string, op: string, r: RunResult) {
    super(`${tool} ${op} failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
  }
}

const SERVICE = 'keepsake';

/** libsecret's `secret-tool` (GNOME Keyring, KWallet via Secret Service). */
function secretToolStore(env: NodeJS.ProcessEnv, tool = 'secret-tool'): SecretStore {
  const attrs = (key: string) => ['service', SERVICE, 'account', key];
  return {
    description: 'the Secret Service keyring (secret-tool)',
    async get(key) {
      const r = await run(tool, ['lookup', ...attrs(key)], undefined, env);
      if (r.code === 0) return r.stdout.replace(/\n$/, '');
      if (r.code === 1 && r.stderr.trim() === '') return undefined;
      throw new KeychainError(tool, 'lookup', r);
    },
    async set(key, value) {
      const r = await run(tool, ['store', `--label=keepsake ${key}`, ...attrs(key)], value, env);
      if (r.code !== 0) throw new KeychainError(tool, 'store', r);
    },
    async delete(key) {
      const r = await run(tool, ['clear', ...attrs(key)], undefined, env);
      if (r.code !== 0 && r.stderr.trim() !== '') throw new KeychainError(tool, 'clear', r);
    },
  };
}

/** macOS `security` (login keychain). The secret goes in through `security -i` on stdin, hex-encoded. */
function macSecurityStore(env: NodeJS.ProcessEnv, tool = 'security'): SecretStore {
  const quote = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  return {
    description: 'the macOS keychain',
    async get(key) {
      const r = await run(tool, ['find-generic-password', '-s', SERVICE, '-a', key, '-w'], undefined, env);
      if (r.code === 0) return r.stdout.replace(/\n$/, '');
      if (r.code === 44) return undefined; // errSecItemNotFound
      throw new KeychainError(tool, 'find-generic-password', r);
    },
    async set(key, value) {
      const line = `add-generic-password -U -s ${quote(SERVICE)} -a ${quote(key)} -X ${Buffer.from(value, 'utf8').toString('hex')}\n`;
      const r = await run(tool, ['-i'], line, env);
      if (r.code !== 0 || /error/i.test(r.stderr)) throw new KeychainError(tool, 'add-generic-password', r);
    },
    async delete(key) {
      const r = await run(tool, ['delete-generic-password', '-s', SERVICE, '-a', key], undefined, env);
      if (r.code !== 0 && r.code !== 44) throw new KeychainError(tool, 'delete-generic-password', r);
    },
  };
}

/** Windows Credential Locker (PasswordVault, shown in Credential Manager) through Windows PowerShell. */
function windowsVaultStore(env: NodeJS.ProcessEnv, tool = 'powershell.exe'): SecretStore {
  const script = `$ErrorActionPreference='Stop'
[void][Windows.Security.Credentials.PasswordVault,Windows.Security.Credentials,ContentType=WindowsRuntime]
$v = New-Object Windows.Security.Credentials.PasswordVault
$in = [Console]::In.ReadToEnd() | ConvertFrom-Json
function Find($r,$u){ try { return $v.Retrieve($r,$u) } catch { return $null } }
$c = Find $in.resource $in.user
switch ($in.op) {
  'get' { if ($null -eq $c) { exit 3 }; $c.RetrievePassword(); [Console]::Out.Write($c.Password) }
  'set' { if ($null -ne $c) { $v.Remove($c) }; $v.Add((New-Object Windows.Security.Credentials.PasswordCredential($in.resource,$in.user,$in.value))) }
  'delete' { if ($null -ne $c) { $v.Remove($c) } }
}`;
  const encoded = Buffer.from(script, 'utf16le').toString('base64');
  const call = (op: string, key: string, value?: string) =>
    run(tool, ['-NoProfile', '-NonInteractive', '-EncodedCommand', encoded], JSON.stringify({ op, resource: SERVICE, user: key, value }), env);
  return {
    description: 'Windows Credential Manager',
    async get(key) {
      const r = await call('get', key);
      if (r.code === 0) return r.stdout;
      if (r.code === 3) return undefined;
      throw new KeychainError(tool, 'get', r);
    },
    async set(key, value) {
      const r = await call('set', key, value);
      if (r.code !== 0) throw new KeychainError(tool, 'set', r);
    },
    async delete(key) {
      const r = await call('delete', key);
      if (r.code !== 0) throw new KeychainError(tool, 'delete', r);
    },
  };
}

export interface SecretStoreOptions {
  /** Used when no keychain answers (default: core's 0600 file store in the user's config dir). */
  fallback?: SecretStore;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /**
   * `auto` (default) probes the OS keychain; `keychain` requires it; `file` never uses it.
   * Also read from the KEEPSAKE_SECRET_STORE environment variable.
   */
  prefer?: 'auto' | 'keychain' | 'file';
  /** Override the helper binary (tests). */
  tool?: string;
}

/** The OS keychain store for this platform, unprobed (undefined when the platform has none). */
export function keychainSecretStore(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, tool?: string): SecretStore | undefined {
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd') return secretToolStore(env, tool);
  if (platform === 'darwin') return macSecurityStore(env, tool);
  if (platform === 'win32') return windowsVaultStore(env, tool);
  return undefined;
}

/** True when the keychain answers a lookup for a key that does not exist (a missing D-Bus session fails here). */
async function probe(store: SecretStore): Promise<boolean> {
  try {
    await store.get(`probe-${process.pid}-does-not-exist`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where tokens live: the OS keychain when one answers (secret-tool on Linux, `security` on macOS,
 * Credential Manager on Windows), else `fallback` — core's 0600 file in the user's config dir.
 */
export async function createSecretStore(o: SecretStoreOptions = {}): Promise<SecretStore> {
  const env = o.env ?? process.env;
  const prefer = o.prefer ?? (env.KEEPSAKE_SECRET_STORE as SecretStoreOptions['prefer'] | undefined) ?? 'auto';
  const fallback = o.fallback ?? createFileSecretStore();
  if (prefer === 'file') return fallback;
  const store = keychainSecretStore(o.platform, env, o.tool);
  if (store && (await probe(store))) return store;
  if (prefer === 'keychain') {
    throw new Error(`No OS keychain answered (${store?.description ?? `none on ${o.platform ?? process.platform}`}); unset KEEPSAKE_SECRET_STORE to use ${fallback.description}`);
  }
  return fallback;
}
