/** The closing line of a run: which files it wrote (stderr, so stdout stays perf_analyzer's report). */
import type { CliFiles } from './main.ts';

/** `files` that also appends each path it writes to `written` (in order, once each). */
export function recordingWrites(files: CliFiles, written: string[]): CliFiles {
  const note = (path: string): void => {
    // `-` is stdout, not a file.
    if (path !== '-' && !written.includes(path)) written.push(path);
  };
  const wrapped: CliFiles = {
    ...files,
    writeText: (path, text, exclusive) => {
      files.writeText(path, text, exclusive);
      note(path);
    },
  };
  const { writeChunks } = files;
  if (writeChunks) {
    wrapped.writeChunks = (path, chunks, exclusive) => {
      writeChunks(path, chunks, exclusive);
      note(path);
    };
  }
  return wrapped;
}

/** `Wrote 2 files: a.csv, b.json` (a file is listed only once it was written completely). */
export function filesWrittenLine(paths: readonly string[]): string {
  return `Wrote ${paths.length} file${paths.length === 1 ? '' : 's'}: ${paths.join(', ')}\n`;
}
