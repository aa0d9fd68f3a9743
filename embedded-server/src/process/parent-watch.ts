/**
 * How a server started by the CLI notices that the CLI is gone, whatever ended it (SIGTERM, SIGHUP, SIGINT,
 * SIGKILL, a crash): the CLI holds the write end of the server's stdin, and the kernel closes it when the
 * CLI's process ends, however it ends. The child sees end-of-file on stdin. As a second line, the parent PID is
 * polled: when the parent dies the child is re-parented (to init or a subreaper) and `process.ppid` changes.
 */

export interface ParentWatchIo {
  /** The pipe the parent holds open (the child's stdin). */
  input: NodeJS.ReadableStream;
  /** The current parent PID (process.ppid is re-read on each access). */
  parentPid: () => number;
  /** The PID the parent had when it spawned us (0 = take the current one). */
  expectedParentPid: number;
  /** How often the parent PID is compared (ms). */
  pollMs: number;
}

/**
 * Calls `onGone(reason)` once, when `input` ends or errors or the parent PID changes. Returns the function that
 * stops watching. Nothing here keeps the event loop alive on its own: the server's listeners do.
 */
export function watchParent(io: ParentWatchIo, onGone: (reason: string) => void): () => void {
  const firstParent = io.expectedParentPid > 0 ? io.expectedParentPid : io.parentPid();
  let done = false;
  const gone = (reason: string): void => {
    if (done) return;
    stop();
    onGone(reason);
  };
  const onEnd = (): void => gone('its parent process closed the control pipe');
  const onData = (): void => {
    // Nothing is expected on the pipe; data is read and dropped so the pipe never fills.
  };
  io.input.on('data', onData);
  io.input.once('end', onEnd);
  io.input.once('close', onEnd);
  io.input.once('error', onEnd);
  const timer = setInterval(() => {
    if (io.parentPid() !== firstParent) gone(`its parent process ${firstParent} exited`);
  }, io.pollMs);
  timer.unref();
  // A paused stdin that is only listened to would keep the loop alive; unref'ing the handle keeps it passive.
  (io.input as { unref?: () => void }).unref?.();
  const stop = (): void => {
    done = true;
    clearInterval(timer);
    io.input.off('data', onData);
    io.input.off('end', onEnd);
    io.input.off('close', onEnd);
    io.input.off('error', onEnd);
  };
  return stop;
}

/** Set by the CLI on the server it spawns, to the CLI's PID: watch stdin and the parent PID. */
export const EXIT_WITH_PARENT_ENV = 'INFERBENCH_EXIT_WITH_PARENT';
