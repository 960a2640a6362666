import { KeepsakeError, type KeepsakeErrorOptions } from '@keepsake/core';

/** This plugin's error codes. */
export const HEIC_DECODE_FAILED = 'HEIC_DECODE_FAILED';
export const HEIC_DECODER_UNAVAILABLE = 'HEIC_DECODER_UNAVAILABLE';

/** A HEIC that could not be converted: damaged, truncated, or not an image libheif decodes. */
export function heicDecodeFailed(file: string, reason: string, opts: KeepsakeErrorOptions = {}): KeepsakeError {
  return new KeepsakeError(HEIC_DECODE_FAILED, `Could not convert ${file} to JPEG: ${reason}`, {
    classification: 'permanent',
    location: file,
    hint: 'The file looks damaged or incomplete. Its original is kept where the sink keeps originals (keep: "both"); check it opens on the phone, and copy it again if it does.',
    ...opts,
  });
}

export function decoderUnavailable(reason: string): KeepsakeError {
  return new KeepsakeError(HEIC_DECODER_UNAVAILABLE, `The native HEIC decoder is not available: ${reason}`, {
    classification: 'fatal',
    hint: 'Install libheif\'s tools (Debian/Ubuntu: apt install libheif-examples; macOS: brew install libheif), set heifConvertPath, or use decoder "auto" or "wasm".',
  });
}
