import { KeepsakeError } from '@keepsake/core';

/** Maps a filesystem error while reading a source file to a typed KeepsakeError. */
export function sourceReadError(err: unknown, path: string, resource?: string): KeepsakeError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const ctx = { stage: 'hash' as const, location: path, resource, cause: err };
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new KeepsakeError('SOURCE_ITEM_VANISHED', `${path} disappeared while keepsake was reading the folder`, {
      ...ctx,
      hint: 'Another program moved or deleted it (or the card was removed). Run again once the folder is stable.',
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new KeepsakeError('SOURCE_READ_FAILED', `No permission to read ${path}`, {
      ...ctx,
      hint: 'Give your user read access to the file (or run keepsake as a user who has it).',
    });
  }
  if (code === 'EIO' || code === 'ETIMEDOUT' || code === 'EAGAIN' || code === 'EBUSY') {
    return new KeepsakeError('SOURCE_READ_FAILED', `Reading ${path} failed (${code})`, {
      ...ctx,
      classification: 'retryable',
      hint: 'The disk or card reported an I/O error; check the connection. keepsake retries, then reports it.',
    });
  }
  return new KeepsakeError('SOURCE_READ_FAILED', `Reading ${path} failed${code ? ` (${code})` : ''}: ${(err as Error)?.message ?? String(err)}`, {
    ...ctx,
    hint: 'Check that the file is readable; other files are not affected.',
  });
}

export function sourceChanged(path: string, detail: string, resource?: string): KeepsakeError {
  return new KeepsakeError('SOURCE_ITEM_CHANGED', `${path} changed while keepsake was reading it (${detail})`, {
    stage: 'hash',
    location: path,
    resource,
    classification: 'retryable',
    hint: 'Something is still writing to this file; keepsake retries, or run again later.',
  });
}
