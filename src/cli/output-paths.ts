/**
 * Every file a run will write, checked BEFORE the first request (so an hour-long sweep is never lost to a typo
 * in `--json`): a path that is a directory, under /proc or /sys, a FIFO or device, in a directory that cannot
 * be created or written, or named twice is refused with exit 3 and one line. `-` means stdout for `--json` and
 * `-f` (then stdout carries that file alone; the human report goes to stderr).
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { OptionError } from '../errors.ts';
import type { OutputOptions } from './run-types.ts';

/** The value of `--json` / `-f` that means standard output. */
export const STDOUT_PATH = '-';

/** Special files that may be named as outputs (writing to them never blocks). */
const ALLOWED_DEVICES = new Set(['/dev/null', '/dev/stdout', '/dev/stderr']);

/** Pseudo file systems: writing there fails oddly or hangs. */
const PSEUDO_ROOTS = ['/proc', '/sys'];

/** What the check looks at; the default is the real file system (tests pass a fake). */
export interface PathProbe {
  /** 'file' | 'dir' | 'other' (FIFO, socket, device), or undefined when nothing is there. */
  kind(path: string): 'file' | 'dir' | 'other' | undefined;
  writable(path: string): boolean;
  realpath(path: string): string;
}

export const nodeProbe: PathProbe = {
  kind(path) {
    try {
      const st = statSync(path);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      return undefined;
    }
  },
  writable(path) {
    try {
      accessSync(path, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  },
  realpath(path) {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  },
};

/** The outputs of a run as [flag, path] pairs. */
function outputsOf(output: OutputOptions): [string, string][] {
  const list: [string, string | undefined][] = [
    ['-f', output.csvFile],
    ['--json', output.jsonFile],
    ['--html', output.htmlFile],
    ['--profile-export-file', output.profileExportFile],
  ];
  return list.filter((e): e is [string, string] => e[1] !== undefined);
}

/** Whether one of the outputs goes to stdout (then the text report goes to stderr). */
export function dataOnStdout(output: OutputOptions): boolean {
  return output.csvFile === STDOUT_PATH || output.jsonFile === STDOUT_PATH;
}

/** Throws OptionError (exit 3) for the first output path that cannot be written. */
export function checkOutputPaths(output: OutputOptions, probe: PathProbe = nodeProbe): void {
  const seen = new Map<string, string>();
  for (const [flag, path] of outputsOf(output)) {
    const fail = (why: string): never => {
      throw new OptionError(`Failed to parse ${flag}. Cannot write '${path}': ${why}.`);
    };
    if (path === '') fail('the path is empty');
    if (path === STDOUT_PATH) {
      if (flag !== '-f' && flag !== '--json') fail("'-' (stdout) is accepted by --json and -f only");
      const other = seen.get(STDOUT_PATH);
      if (other) fail(`${other} already writes to stdout`);
      seen.set(STDOUT_PATH, flag);
      continue;
    }
    if (path.includes('\0')) fail('the path contains a NUL byte');
    const full = resolve(path);
    const other = seen.get(full);
    if (other) fail(`${other} writes the same file`);
    seen.set(full, flag);
    if (ALLOWED_DEVICES.has(full)) continue;
    const kind = probe.kind(full);
    // The nearest existing ancestor: the directories below it are created at write time.
    let ancestor = kind === undefined ? dirname(full) : full;
    while (probe.kind(ancestor) === undefined && dirname(ancestor) !== ancestor) ancestor = dirname(ancestor);
    const real = probe.realpath(ancestor);
    if (PSEUDO_ROOTS.some((root) => real === root || real.startsWith(`${root}/`))) {
      fail(`${real} is a kernel pseudo file system`);
    }
    if (kind === 'dir') fail('it is a directory');
    if (kind === 'other') fail('it is not a regular file (a FIFO, socket or device)');
    if (kind === 'file') {
      if (flag === '--profile-export-file') fail('it already exists');
      if (!probe.writable(full)) fail('permission denied');
      continue;
    }
    const ancestorKind = probe.kind(ancestor);
    if (ancestorKind !== 'dir') fail(`${ancestor} is not a directory`);
    if (!probe.writable(ancestor)) fail(`the directory ${ancestor} is not writable`);
  }
}
