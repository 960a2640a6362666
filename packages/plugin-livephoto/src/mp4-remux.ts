import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { KeepsakeError } from '@keepsake/core';
import { lastLines, type ProbedStream, probeStreams, type ResolvedFfmpeg, runFfmpeg } from './ffmpeg.js';

export type Mp4Mode = 'auto' | 'transcode';

export interface Mp4Options {
  /** `auto`: copy what MP4 holds as is, transcode the rest; `transcode`: always H.264 + AAC. */
  mode: Mp4Mode;
  /** x264 constant rate factor when video is transcoded. */
  crf: number;
}

export const DEFAULT_MP4_OPTIONS: Mp4Options = { mode: 'auto', crf: 18 };

/** Video codecs an MP4 carries and every player we target decodes. */
const COPYABLE_VIDEO = new Set(['h264', 'hevc']);
/** iPhone audio is AAC for videos but 16-bit linear PCM (`lpcm`) in Live Photo MOVs, which MP4 cannot hold. */
const COPYABLE_AUDIO = new Set(['aac']);

export interface Mp4Plan {
  args: string[];
  videoCopied: boolean;
  audioCopied: boolean | undefined;
}

/**
 * The ffmpeg arguments for one MOV → MP4 conversion. Maps the first video and first audio stream
 * only: Apple's timed-metadata tracks (`mebx`: still-image time, live-photo info, faces) have no
 * MP4 mapping and would make the muxer fail.
 */
export function planMp4(streams: readonly ProbedStream[], input: string, output: string, options: Mp4Options): Mp4Plan {
  const video = streams.find((s) => s.type === 'video');
  const audio = streams.find((s) => s.type === 'audio');
  if (!video) {
    throw new KeepsakeError('VIDEO_UNREADABLE', `${input} has no video stream`, {
      location: input,
      hint: 'Only videos can be converted to MP4.',
    });
  }
  const args = ['-y', '-i', input, '-map', '0:v:0'];
  if (audio) args.push('-map', '0:a:0');
  const videoCopied = options.mode === 'auto' && COPYABLE_VIDEO.has(video.codec);
  if (videoCopied) {
    args.push('-c:v', 'copy');
    // QuickTime players and Apple/Google photo apps only accept HEVC in MP4 tagged hvc1.
    if (video.codec === 'hevc') args.push('-tag:v', 'hvc1');
  } else {
    args.push('-c:v', 'libx264', '-preset', 'medium', '-crf', String(options.crf), '-pix_fmt', 'yuv420p');
  }
  let audioCopied: boolean | undefined;
  if (audio) {
    audioCopied = options.mode === 'auto' && COPYABLE_AUDIO.has(audio.codec);
    if (audioCopied) args.push('-c:a', 'copy');
    else args.push('-c:a', 'aac', '-b:a', '192k');
  }
  // Keep creation_time, the Apple Keys (content.identifier, creationdate, ISO6709 location) and
  // put the index first so players and uploads can start before the whole file is there.
  args.push('-map_metadata', '0', '-movflags', '+faststart+use_metadata_tags', '-f', 'mp4', output);
  return { args, videoCopied, audioCopied };
}

export interface Mp4Result {
  path: string;
  bytes: number;
  videoCopied: boolean;
  audioCopied: boolean | undefined;
}

/**
 * Converts `input` (a local MOV) into an MP4 at `output`. ffmpeg writes a sibling partial file that
 * is renamed into place only after it exits cleanly, so a crash never leaves a short MP4 behind.
 */
export async function convertToMp4(
  ffmpeg: ResolvedFfmpeg,
  input: string,
  output: string,
  options: Mp4Options,
  signal?: AbortSignal,
): Promise<Mp4Result> {
  const streams = await probeStreams(ffmpeg, input, signal);
  // Unique per attempt: a retry must never share a half-written file with an attempt still running.
  const partial = `${output}.${randomBytes(4).toString('hex')}.partial.mp4`;
  const plan = planMp4(streams, input, partial, options);
  try {
    const { exitCode, stderr } = await runFfmpeg(ffmpeg, plan.args, signal);
    if (exitCode !== 0) {
      throw new KeepsakeError('TRANSFORM_FAILED', `ffmpeg could not convert ${input} to MP4 (exit ${exitCode}): ${lastLines(stderr)}`, {
        location: input,
        hint: 'Check that the video plays; a damaged MOV can be repaired or delivered unconverted (keep: "both").',
      });
    }
    const { size } = await stat(partial);
    if (size === 0) {
      throw new KeepsakeError('TRANSFORM_FAILED', `ffmpeg produced an empty MP4 from ${input}`, { location: input });
    }
    await rename(partial, output);
    return { path: output, bytes: size, videoCopied: plan.videoCopied, audioCopied: plan.audioCopied };
  } catch (err) {
    await rm(partial, { force: true }).catch(() => {});
    throw err;
  }
}
