/**
 * Process entry of the reference server (`node embedded-server/src/serve-main.ts serve-flags…`): what the load
 * generator spawns for its embedded default, so the server's event loop never shares a thread with the
 * measuring one. Spawned by the CLI (INFERBENCH_EXIT_WITH_PARENT=<the CLI's pid>), it also stops when the CLI is gone,
 * whatever ended the CLI (see process/parent-watch.ts): a benchmark never leaves an orphaned server behind.
 */
import { EXIT_WITH_PARENT_ENV, watchParent } from './process/parent-watch.ts';
import { runServeCommand } from './serve.ts';

/** After the parent is gone: the graceful stop gets this long, then the process exits regardless. */
const ORPHAN_EXIT_MS = 5000;
const PARENT_POLL_MS = 500;

const orphanAwareSignals =
  (parentPid: number) =>
  (handler: (signal: string) => void): (() => void) => {
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
    for (const s of signals) process.on(s, handler);
    // The parent's pipes are closed once it is gone: a log line must not crash the shutdown with EPIPE.
    const ignore = (): void => undefined;
    process.stdout.on('error', ignore);
    process.stderr.on('error', ignore);
    const unwatch = watchParent(
      {
        input: process.stdin,
        parentPid: () => process.ppid,
        expectedParentPid: parentPid,
        pollMs: PARENT_POLL_MS,
      },
      (reason) => {
        setTimeout(() => process.exit(1), ORPHAN_EXIT_MS).unref();
        handler(`parent exit (${reason})`);
      },
    );
    return () => {
      for (const s of signals) process.off(s, handler);
      unwatch();
    };
  };

const parentPid = Number(process.env[EXIT_WITH_PARENT_ENV] ?? '');
process.exitCode = await runServeCommand(
  process.argv.slice(2),
  Number.isInteger(parentPid) && parentPid > 0 ? { onSignal: orphanAwareSignals(parentPid) } : {},
);
