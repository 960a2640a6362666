import { open, stat } from 'node:fs/promises';
import { KeepsakeError, readFileStream, writeStreamAtomic } from '@keepsake/core';
import { readJpegXmp, withXmpDescription } from './jpeg-xmp.js';

/** Namespace URIs of Motion Photo format 1.0 (the prefixes are free; readers match the URIs). */
export const MOTION_PHOTO_NS = {
  camera: 'http://ns.google.com/photos/1.0/camera/',
  container: 'http://ns.google.com/photos/1.0/container/',
  item: 'http://ns.google.com/photos/1.0/container/item/',
} as const;

export interface MotionPhotoXmpInput {
  /** Byte length of the appended MP4. */
  videoLength: number;
  /** µs position of the frame that matches the still; −1 when unknown (readers then use the middle). */
  presentationTimestampUs: number;
}

/**
 * The `rdf:Description` of a Motion Photo JPEG: `GCamera:MotionPhoto=1`, version 1, the still's
 * timestamp, and a Container directory with the JPEG (Primary, padding 0: the MP4 follows the
 * JPEG directly) and the MP4 (MotionPhoto, with its length, so readers find it from the end).
 * Only the format 1.0 properties are written; legacy MicroVideo readers are not targeted.
 */
export function motionPhotoDescription(input: MotionPhotoXmpInput): string {
  if (!Number.isSafeInteger(input.videoLength) || input.videoLength <= 0) throw new RangeError(`Invalid video length ${input.videoLength}`);
  const ts = Number.isFinite(input.presentationTimestampUs) ? Math.round(input.presentationTimestampUs) : -1;
  return [
    '<rdf:Description rdf:about=""',
    `    xmlns:GCamera="${MOTION_PHOTO_NS.camera}"`,
    `    xmlns:Container="${MOTION_PHOTO_NS.container}"`,
    `    xmlns:Item="${MOTION_PHOTO_NS.item}"`,
    '    GCamera:MotionPhoto="1"',
    '    GCamera:MotionPhotoVersion="1"',
    `    GCamera:MotionPhotoPresentationTimestampUs="${ts}">`,
    '  <Container:Directory>',
    '    <rdf:Seq>',
    '      <rdf:li rdf:parseType="Resource">',
    '        <Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" Item:Length="0" Item:Padding="0"/>',
    '      </rdf:li>',
    '      <rdf:li rdf:parseType="Resource">',
    `        <Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto" Item:Length="${input.videoLength}" Item:Padding="0"/>`,
    '      </rdf:li>',
    '    </rdf:Seq>',
    '  </Container:Directory>',
    '</rdf:Description>',
  ].join('\n');
}

/** True when the JPEG's XMP already declares the Motion Photo camera namespace. */
export function isMotionPhotoJpeg(jpeg: Uint8Array): boolean {
  const xmp = readJpegXmp(jpeg);
  return xmp?.includes(MOTION_PHOTO_NS.camera) === true;
}

export interface WriteMotionPhotoInput {
  /** The still as JPEG bytes (a few MB; the video is never held in memory). */
  jpeg: Uint8Array;
  /** Path of the MP4 to append. */
  mp4Path: string;
  presentationTimestampUs: number;
  signal?: AbortSignal;
}

/**
 * Writes `<jpeg with Motion Photo XMP><mp4>` atomically to `dest`, then checks it the way readers
 * do: the bytes at `size − Length` must start an ISOBMFF `ftyp` box.
 */
export async function writeMotionPhoto(dest: string, input: WriteMotionPhotoInput): Promise<{ bytes: number; videoOffset: number }> {
  if (isMotionPhotoJpeg(input.jpeg)) {
    throw new KeepsakeError('ALREADY_MOTION_PHOTO', 'The still already carries Motion Photo XMP', {
      hint: 'Deliver it as it is; it needs no conversion.',
    });
  }
  const { size: videoLength } = await stat(input.mp4Path);
  const still = withXmpDescription(input.jpeg, motionPhotoDescription({ videoLength, presentationTimestampUs: input.presentationTimestampUs }));
  const signal = input.signal;
  async function* bytes() {
    yield still;
    yield* readFileStream(input.mp4Path, signal ? { signal } : {});
  }
  const written = await writeStreamAtomic(dest, bytes(), { durable: false, noClobber: false, ...(signal ? { signal } : {}) });
  const videoOffset = written.bytes - videoLength;
  await assertVideoAt(dest, videoOffset);
  return { bytes: written.bytes, videoOffset };
}

async function assertVideoAt(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(8);
    await fh.read(head, 0, 8, offset);
    const type = new TextDecoder().decode(head.subarray(4, 8));
    if (type !== 'ftyp') {
      throw new KeepsakeError('TRANSFORM_FAILED', `Motion Photo check failed: no MP4 'ftyp' box at byte ${offset} of ${path}`, { location: path });
    }
  } finally {
    await fh.close();
  }
}
