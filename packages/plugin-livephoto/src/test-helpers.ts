import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Asset, mediaTypeOf, type Resource, readFileStream, silentLogger, type TransformContext } from '@keepsake/core';

export const FIXTURES = '/work/shared/fixtures/real/live-photo';
export const TRAIN_JPG = join(FIXTURES, 'train.jpg');
export const TRAIN_MOV = join(FIXTURES, 'train.mov');
export const TRAIN_CONTENT_ID = 'E905E6C6-C747-4805-942F-9904A0281F02';

/** A source-like resource over a local file. */
export function fileResource(path: string, role: Resource['role'], name = path.split('/').pop()!): Resource {
  const st = statSync(path);
  return {
    role,
    name,
    key: path,
    size: st.size,
    mtimeMs: st.mtimeMs,
    mediaType: mediaTypeOf(name),
    open: (o = {}) => readFileStream(path, o),
  };
}

export function liveAsset(still = TRAIN_JPG, motion = TRAIN_MOV): Asset {
  return { id: 'DCIM/100APPLE/IMG_0001', kind: 'live', resources: [fileResource(still, 'original', 'IMG_0001.JPG'), fileResource(motion, 'motion', 'IMG_0001.MOV')] };
}

export function tempContext(): TransformContext & { cleanup(): void } {
  const tempDir = mkdtempSync(join(tmpdir(), 'keepsake-livephoto-'));
  return { signal: new AbortController().signal, logger: silentLogger, tempDir, cleanup: () => rmSync(tempDir, { recursive: true, force: true }) };
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

/** ffprobe as the independent reader (Debian ffmpeg ships it). */
export function ffprobeJson(path: string): { format: { duration: string; tags?: Record<string, string> }; streams: { codec_type: string; codec_name: string; codec_tag_string?: string; duration?: string; start_time?: string }[] } {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path], { encoding: 'utf8' }));
}

export function exiftoolJson(path: string, ...tags: string[]): Record<string, unknown> {
  return (JSON.parse(execFileSync('exiftool', ['-j', '-n', ...tags, path], { encoding: 'utf8' })) as Record<string, unknown>[])[0]!;
}
