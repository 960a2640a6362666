import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSecretStore } from '@keepsake/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretStore } from './keychain.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-keychain-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A stand-in for libsecret's secret-tool with the same CLI: store (secret on stdin), lookup, clear. */
async function fakeSecretTool(broken = false): Promise<string> {
  const tool = join(dir, broken ? 'secret-tool-broken' : 'secret-tool');
  const db = join(dir, 'keyring');
  const script = broken
    ? `#!/bin/sh\necho "Cannot autolaunch D-Bus without X11 \\$DISPLAY" >&2\nexit 1\n`
    : `#!/bin/sh
cmd=$1; shift
[ "$cmd" = store ] && shift
key=$(printf '%s' "$*" | tr -c 'A-Za-z0-9' '_')
mkdir -p "${db}"
case $cmd in
  store) cat > "${db}/$key" ;;
  lookup) [ -f "${db}/$key" ] || exit 1; cat "${db}/$key" ;;
  clear) rm -f "${db}/$key" ;;
esac
`;
  await writeFile(tool, script);
  await chmod(tool, 0o755);
  return tool;
}

describe('createSecretStore', () => {
  it('uses secret-tool on Linux when it answers, passing the secret on stdin', async () => {
    const tool = await fakeSecretTool();
    const store = await createSecretStore({ platform: 'linux', tool, fallback: createFileSecretStore(join(dir, 'unused.json')) });
    expect(store.description).toContain('secret-tool');
    expect(await store.get('onedrive')).toBeUndefined();
    await store.set('onedrive', '{"accessToken":"A B\\"C"}');
    expect(await store.get('onedrive')).toBe('{"accessToken":"A B\\"C"}');
    await store.delete('onedrive');
    expect(await store.get('onedrive')).toBeUndefined();
  });

  it('falls back to the 0600 file store when the keychain does not answer', async () => {
    const tool = await fakeSecretTool(true);
    const file = join(dir, 'secrets.json');
    const store = await createSecretStore({ platform: 'linux', tool, fallback: createFileSecretStore(file) });
    expect(store.description).toContain(file);
    await store.set('k', 'v');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ k: 'v' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('falls back when the tool is missing, and honours prefer: file', async () => {
    const fallback = createFileSecretStore(join(dir, 'f.json'));
    expect(await createSecretStore({ platform: 'linux', tool: join(dir, 'no-such-tool'), fallback })).toBe(fallback);
    expect(await createSecretStore({ platform: 'linux', tool: await fakeSecretTool(), fallback, prefer: 'file' })).toBe(fallback);
    await expect(createSecretStore({ platform: 'linux', tool: join(dir, 'no-such-tool'), fallback, prefer: 'keychain' })).rejects.toThrow(/No OS keychain/);
  });
});
