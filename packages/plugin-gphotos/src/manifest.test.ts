import { readFileSync } from 'node:fs';
import { validateManifest, validateOptions } from '@keepsake/core';
import { describe, expect, it } from 'vitest';
import plugin from './index.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

describe('gphotos manifest', () => {
  it('is a valid manifest whose schema accepts real options with defaults merged and rejects typos', () => {
    const manifest = validateManifest(pkg.name, pkg.keepsake);
    const sink = manifest.contributes.sinks!.find((s) => s.id === 'gphotos')!;
    expect(validateOptions(sink, { clientId: 'x.apps.googleusercontent.com', album: 'iPhone {yyyy}' }, 'sinks[0].options', pkg.name)).toMatchObject({ endpoint: 'https://photoslibrary.googleapis.com' });
    expect(() => validateOptions(sink, { clientID: 'x' }, 'sinks[0].options', pkg.name)).toThrow();
  });

  it('registers exactly the declared sink', async () => {
    const ids: string[] = [];
    const register = (id: string) => {
      ids.push(id);
      return { dispose() {} };
    };
    await plugin.activate({ sinks: { register } } as never);
    expect(ids).toEqual(['gphotos']);
  });
});
