/** Shared test setup: real camera files laid out as a camera roll, and a host-like factory context. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FactoryContext, Logger, SecretStore } from '@keepsake/core';
import type { GenFile } from './backup-generator.ts';

/** shared/ sits beside the repository (locally and in CI); KEEPSAKE_FIXTURES_DIR overrides. */
export const REAL = process.env.KEEPSAKE_FIXTURES_DIR ?? join(import.meta.dirname, '../../../../shared/fixtures/real');

/** Camera-roll name → real fixture file. */
export const CAMERA_ROLL: Record<string, string> = {
  '100APPLE/IMG_0001.HEIC': 'heic/IMG_2682.heic',
  '100APPLE/IMG_0002.JPG': 'live-photo/train.jpg',
  '100APPLE/IMG_0002.MOV': 'live-photo/train.mov',
  '100APPLE/IMG_0003.MOV': 'video/meta.mov',
  '101APPLE/IMG_0004.HEIC': 'heic/IMG_2927.HEIC',
};

export function fixtureBytes(rel: string): Buffer {
  return readFileSync(join(REAL, rel));
}

/** Camera roll plus the other things a real backup holds (which must not be yielded). */
export function realisticFiles(): GenFile[] {
  const files: GenFile[] = [
    { domain: 'CameraRollDomain', relativePath: 'Media', flags: 2 },
    { domain: 'CameraRollDomain', relativePath: 'Media/DCIM', flags: 2 },
    { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/100APPLE', flags: 2 },
    { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/101APPLE', flags: 2 },
    { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/.MISC', flags: 2 },
    { domain: 'CameraRollDomain', relativePath: 'Media/DCIM/.MISC/Info.plist', content: Buffer.from('misc') },
    { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Photos.sqlite', content: Buffer.from('not really sqlite') },
    { domain: 'CameraRollDomain', relativePath: 'Media/PhotoData/Thumbnails/V2/DCIM/100APPLE/IMG_0001.HEIC/5003.JPG', content: Buffer.from('thumb') },
    { domain: 'MediaDomain', relativePath: 'Media/DCIM/100APPLE/IMG_9999.JPG', content: Buffer.from('other domain') },
    { domain: 'HomeDomain', relativePath: 'Library/Preferences/com.apple.test.plist', content: Buffer.from('prefs') },
    { domain: 'HomeDomain', relativePath: 'Library/link', flags: 4 },
  ];
  let t = 1_618_051_000;
  for (const [name, rel] of Object.entries(CAMERA_ROLL)) files.push({ domain: 'CameraRollDomain', relativePath: `Media/DCIM/${name}`, content: fixtureBytes(rel), mtime: t++ });
  return files;
}

export function memorySecrets(): SecretStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    description: 'memory',
    get: async (k) => data.get(k),
    set: async (k, v) => {
      data.set(k, v);
    },
    delete: async (k) => {
      data.delete(k);
    },
  };
}

export interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown> | undefined;
}

export function recordingLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const make = (): Logger => ({
    debug: (message, fields) => lines.push({ level: 'debug', message, fields }),
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
    child: () => make(),
  });
  return Object.assign(make(), { lines });
}

export function factoryContext(over: Partial<FactoryContext> = {}): FactoryContext {
  return {
    logger: recordingLogger(),
    secrets: memorySecrets(),
    storageDir: '/nonexistent-storage',
    configDir: process.cwd(),
    signal: new AbortController().signal,
    env: {},
    ...over,
  };
}
