/**
 * The bound on the tensor bytes of one request, checked before any tensor is allocated: `--shape
 * INPUT0:1000000000` would otherwise allocate gigabytes silently, and a shape past 2^53 elements threw a
 * RangeError (exit 99). The default matches the request-size limit of Triton's HTTP endpoint and of the
 * embedded server (64 MiB); `--max-request-bytes` raises it up to MAX_REQUEST_BYTES_LIMIT.
 */
import { OptionError } from '../errors.ts';

export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024;
/** The most `--max-request-bytes` accepts: 2 GiB (a Node Buffer / V8 typed array beyond it is not portable). */
export const MAX_REQUEST_BYTES_LIMIT = 2 * 1024 * 1024 * 1024;

/** Bytes for `shape` (elements × element size) as a float, so a shape past 2^53 elements cannot throw. */
export function tensorBytes(shape: readonly number[], bytesPerElement: number): number {
  return shape.reduce((n, d) => n * d, 1) * bytesPerElement;
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} bytes`
    : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** Throws OptionError (exit 3) when `bytes` exceed `limit`; `what` says which tensor or request. */
export function checkRequestBytes(what: string, bytes: number, limit: number): void {
  if (!(bytes <= limit)) {
    throw new OptionError(
      `${what} would take ${formatBytes(bytes)} per request, over the limit of ${formatBytes(limit)} (--max-request-bytes, at most ${formatBytes(MAX_REQUEST_BYTES_LIMIT)}).`,
    );
  }
}
