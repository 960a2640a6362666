import { stat } from 'node:fs/promises';
import { isKeepsakeError, type OpenOptions, readFileStream } from '@keepsake/core';
import { sourceChanged, sourceReadError } from './source-errors.js';

/**
 * `Resource.open` for a local file found by the scan with `size` and `mtimeMs`: streams 1 MiB
 * chunks from `offset`, and fails with SOURCE_ITEM_CHANGED if the file is longer or shorter than
 * scanned or was modified meanwhile — the bytes would not be the ones the ledger recorded.
 */
export function openFile(path: string, key: string, size: number, mtimeMs: number) {
  return (options: OpenOptions = {}): AsyncIterable<Uint8Array> =>
    (async function* () {
      const start = options.offset ?? 0;
      const expected = size - start;
      let got = 0;
      try {
        for await (const chunk of readFileStream(path, { offset: start, signal: options.signal, reuseChunks: options.reuseChunks })) {
          got += chunk.byteLength;
          if (got > expected) throw sourceChanged(path, `now larger than the ${size} bytes found by the scan`, key);
          yield chunk;
        }
        if (got < expected) throw sourceChanged(path, `now ${start + got} bytes, the scan found ${size}`, key);
        const after = await stat(path);
        if (after.size !== size || Math.abs(after.mtimeMs - mtimeMs) > 1) throw sourceChanged(path, 'modified during the read', key);
      } catch (err) {
        if (isKeepsakeError(err)) throw err;
        if ((err as Error)?.name === 'AbortError') throw err;
        throw sourceReadError(err, path, key);
      }
    })();
}
