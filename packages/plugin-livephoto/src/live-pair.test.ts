import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyLivePair, createLivePair } from './live-pair.js';
import { fileResource, liveAsset, TRAIN_CONTENT_ID, TRAIN_JPG, TRAIN_MOV, tempContext } from './test-helpers.js';

const contexts: ReturnType<typeof tempContext>[] = [];
function ctx() {
  const c = tempContext();
  contexts.push(c);
  return c;
}
afterEach(() => {
  for (const c of contexts.splice(0)) c.cleanup();
});

describe('live-pair', () => {
  it('confirms the real pair by ContentIdentifier and records the still time', async () => {
    const input = { ...liveAsset(), kind: 'photo' as const };
    const out = await createLivePair().apply(input, ctx());
    expect(out.kind).toBe('live');
    expect(out.contentIdentifier).toBe(TRAIN_CONTENT_ID);
    expect(out.data?.livePhoto).toMatchObject({ status: 'paired', method: 'content-identifier', stillImageTimeUs: 480000 });
    expect(out.diagnostics).toBeUndefined();
    expect(out.resources).toBe(input.resources);
  });

  it('reports a mismatch when the MOV belongs to another Live Photo', async () => {
    const c = ctx();
    const mov = readFileSync(TRAIN_MOV);
    Buffer.from('AAAAAAAA-2222-3333-4444-555555555555').copy(mov, mov.lastIndexOf(Buffer.from(TRAIN_CONTENT_ID)));
    const other = join(c.tempDir, 'other.mov');
    writeFileSync(other, mov);
    const out = await createLivePair().apply(liveAsset(TRAIN_JPG, other), c);
    expect(out.contentIdentifier).toBeUndefined();
    expect(out.diagnostics).toEqual([
      {
        level: 'warning',
        source: 'livephoto:mismatch',
        message: `DCIM/100APPLE/IMG_0001: still and video do not belong together: IMG_0001.JPG has ContentIdentifier ${TRAIN_CONTENT_ID} but IMG_0001.MOV has AAAAAAAA-2222-3333-4444-555555555555`,
      },
    ]);
  });

  it('falls back to name and capture time when the MOV has no ContentIdentifier key', async () => {
    const c = ctx();
    // Rename the Keys entry in place (same length): the identifier is gone, creationdate stays.
    const mov = readFileSync(TRAIN_MOV);
    const key = Buffer.from('com.apple.quicktime.content.identifier');
    const at = mov.lastIndexOf(key);
    expect(at).toBeGreaterThan(0);
    Buffer.from('com.apple.quicktime.content.identifieX').copy(mov, at);
    const renamed = join(c.tempDir, 'renamed.mov');
    writeFileSync(renamed, mov);
    const out = await createLivePair().apply(liveAsset(TRAIN_JPG, renamed), c);
    // Still 11:44:00.814+01:00, MOV creationdate 11:43:59+01:00.
    expect(out.data?.livePhoto).toMatchObject({ status: 'paired', method: 'name-and-time', secondsApart: 1.8, stillIdentifier: TRAIN_CONTENT_ID });
    expect(out.kind).toBe('live');
    expect(out.diagnostics).toEqual([expect.objectContaining({ level: 'info', source: 'livephoto:paired-by-name', message: expect.stringContaining('IMG_0001.MOV carries no ContentIdentifier') })]);
    // A tighter limit turns the same pair into a reported mismatch.
    const strict = await createLivePair({ maxTimeDifferenceSeconds: 1 }).apply(liveAsset(TRAIN_JPG, renamed), c);
    expect(strict.diagnostics).toEqual([expect.objectContaining({ source: 'livephoto:mismatch', message: expect.stringContaining('1.8 s apart') })]);
  });

  it('flags a Live Photo asset that lost its video', async () => {
    const out = await createLivePair().apply({ id: 'a', kind: 'live', resources: [fileResource(TRAIN_JPG, 'original', 'IMG_0001.JPG')] }, ctx());
    expect(out.diagnostics).toEqual([expect.objectContaining({ level: 'warning', source: 'livephoto:unpaired', message: expect.stringContaining('without its video') })]);
    expect(out.data?.livePhoto?.status).toBe('unpaired');
  });

  it('recognises a lone MOV as the video half of a Live Photo', async () => {
    const out = await applyLivePair({ id: 'v', kind: 'video', resources: [fileResource(TRAIN_MOV, 'original', 'IMG_0001.MOV')] }, { maxTimeDifferenceSeconds: 5 }, ctx());
    expect(out.contentIdentifier).toBe(TRAIN_CONTENT_ID);
    expect(out.diagnostics).toEqual([expect.objectContaining({ level: 'info', source: 'livephoto:unpaired' })]);
  });

  it('turns unreadable metadata into a diagnostic instead of failing delivery', async () => {
    const c = ctx();
    const junk = join(c.tempDir, 'junk.mov');
    writeFileSync(junk, Buffer.from('\0\0\0\x10moovjunkjunk'));
    const out = await createLivePair().apply(liveAsset(TRAIN_JPG, junk), c);
    expect(out.diagnostics).toEqual([expect.objectContaining({ source: 'livephoto:unverified' })]);
  });

  it('leaves ordinary photos alone and puts its option in the version', async () => {
    const photo = { id: 'p', kind: 'photo' as const, resources: [fileResource(TRAIN_JPG, 'original')] };
    expect(await createLivePair().apply(photo, ctx())).toBe(photo);
    expect(createLivePair({ maxTimeDifferenceSeconds: 2 }).version).not.toBe(createLivePair().version);
  });
});
