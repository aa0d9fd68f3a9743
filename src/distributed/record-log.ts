/**
 * A shard record carried through container logs (`--print-record`, then `kubectl logs … > logs.txt` and
 * `inferbench merge --from-logs logs.txt`). The record is gzipped, base64-encoded and cut into short lines,
 * each tagged with the shard and its sequence number, so lines interleaved with stderr, long-line splitting
 * by the container runtime, or log prefixes (kubectl --prefix) cannot corrupt it, and a missing line is
 * detected instead of yielding a wrong record.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { OptionError } from '../errors.ts';

export const RECORD_LINE_TAG = 'INFERBENCH-RECORD/1';
/** Base64 characters per line: well under the 16 KiB at which runtimes split log lines. */
const CHUNK_CHARS = 4000;
/** Refuse to inflate a record beyond this (a hostile log must not exhaust memory). */
export const MAX_RECORD_BYTES = 512 * 1024 * 1024;

/** Lines (without newline) that carry `recordJson` of shard `index` of `count`. */
export function recordLogLines(recordJson: string, index: number, count: number): string[] {
  const data = gzipSync(Buffer.from(recordJson, 'utf8')).toString('base64');
  const total = Math.max(1, Math.ceil(data.length / CHUNK_CHARS));
  return Array.from(
    { length: total },
    (_, k) =>
      `${RECORD_LINE_TAG} ${index}/${count} ${k + 1}/${total} ${data.slice(k * CHUNK_CHARS, (k + 1) * CHUNK_CHARS)}`,
  );
}

const LINE = new RegExp(
  `${RECORD_LINE_TAG.replace('/', '\\/')} (\\d{1,6})\\/(\\d{1,6}) (\\d{1,7})\\/(\\d{1,7}) ([A-Za-z0-9+/=]*)\\s*$`,
);

/** Every record found in `logText` (a file name in `source` for messages), as JSON text per shard index. */
export function recordsFromLog(logText: string, source: string): { source: string; text: string }[] {
  const shards = new Map<string, { total: number; chunks: Map<number, string> }>();
  for (const line of logText.split('\n')) {
    const at = line.indexOf(RECORD_LINE_TAG);
    if (at < 0) continue;
    const match = LINE.exec(line.slice(at));
    if (!match)
      throw new OptionError(`${source}: a malformed ${RECORD_LINE_TAG} line: '${line.slice(0, 80)}…'`);
    const key = `${match[1]}/${match[2]}`;
    const seq = Number(match[3]);
    const total = Number(match[4]);
    const entry = shards.get(key) ?? { total, chunks: new Map<number, string>() };
    if (entry.total !== total || seq < 1 || seq > total) {
      throw new OptionError(
        `${source}: shard ${key}'s record lines disagree on their count (${seq}/${total}).`,
      );
    }
    entry.chunks.set(seq, match[5]!);
    shards.set(key, entry);
  }
  if (shards.size === 0)
    throw new OptionError(
      `${source}: no ${RECORD_LINE_TAG} lines (did the shards run with --print-record?).`,
    );
  return [...shards.entries()].map(([key, { total, chunks }]) => {
    if (chunks.size !== total) {
      throw new OptionError(
        `${source}: shard ${key}'s record is incomplete (${chunks.size} of ${total} lines).`,
      );
    }
    const data = Array.from({ length: total }, (_, k) => chunks.get(k + 1)).join('');
    let text: string;
    try {
      text = gunzipSync(Buffer.from(data, 'base64'), { maxOutputLength: MAX_RECORD_BYTES }).toString('utf8');
    } catch (error) {
      throw new OptionError(
        `${source}: shard ${key}'s record cannot be decoded: ${(error as Error).message}`,
      );
    }
    return { source: `${source} (shard ${key})`, text };
  });
}
