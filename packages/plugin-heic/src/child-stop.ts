/**
 * One switch per thread that stops every decoder process the thread started (ffmpeg,
 * heif-convert). The pool flips it in each worker before terminating the worker: terminating a
 * thread does not stop the processes it spawned, and a photo's ffmpeg would otherwise run on
 * after Ctrl-C.
 */
let controller = new AbortController();

/** Combine with a job's own signal when spawning a decoder process. */
export function childStopSignal(signal?: AbortSignal): AbortSignal {
  return signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
}

/** Kills the processes started with {@link childStopSignal} so far; later ones start normally. */
export function stopChildren(): void {
  controller.abort(new Error('The HEIC conversion pool was closed'));
  controller = new AbortController();
}
