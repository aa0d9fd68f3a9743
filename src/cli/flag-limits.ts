/**
 * The largest value each numeric flag accepts, in one table, with the reason shown when a value is refused
 * (exit 3, one line). Absurd values used to crash the process (`--request-rate-range 1e12`: V8 fatal error,
 * exit 133), fire at once (a timer over 2^31 − 1 ms), or quietly exhaust the machine (`--worker-threads
 * 100000`). Limits are generous: they refuse what cannot work, never a real benchmark.
 */
import { MAX_REQUEST_BYTES_LIMIT } from '../data/request-bytes.ts';

export interface FlagLimit {
  max: number;
  /** Completes "The value must be <= max (…)". */
  why: string;
}

const HOUR_MS = 3_600_000;

export const FLAG_MAXIMA = {
  '-b': { max: 1_000_000, why: 'no server batches more' },
  '--concurrency-range': {
    max: 16_384,
    why: 'each in-flight HTTP request holds a connection, one file descriptor (ulimit -n); use several load generators beyond that',
  },
  '--request-rate-range': { max: 1_000_000, why: 'requests per second; one Node process sends far fewer' },
  '--max-threads': { max: 16_384, why: 'in-flight requests of a sync request-rate run' },
  '--max-in-flight': { max: 1_000_000, why: 'open-loop requests in flight' },
  '--worker-threads': { max: 64, why: 'load generator threads; more than the cores only adds contention' },
  '-p': { max: HOUR_MS, why: 'one hour per window' },
  '--measurement-request-count': { max: 1_000_000_000, why: 'requests per window' },
  '-r': { max: 1_000, why: 'windows per level' },
  '--stability-windows': { max: 1_000, why: 'windows per level' },
  '--request-count': { max: 1_000_000_000, why: 'requests per level' },
  '--warmup-request-count': { max: 1_000_000_000, why: 'requests per level' },
  '-l': { max: HOUR_MS, why: 'one hour' },
  '--request-timeout': { max: 86_400_000, why: 'one day' },
  '--metrics-interval': { max: HOUR_MS, why: 'one hour' },
  '--request-intervals': { max: 3_600_000_000, why: 'one hour, in µs, per interval' },
  '--string-length': { max: 64 * 1024 * 1024, why: 'bytes per string' },
  '--seed': { max: 4_294_967_295, why: 'a 32-bit seed, as std::mt19937 takes' },
  '--profile-export-max-output-bytes': { max: MAX_REQUEST_BYTES_LIMIT, why: '2 GiB of response bytes kept' },
  '--max-request-bytes': { max: MAX_REQUEST_BYTES_LIMIT, why: '2 GiB per request' },
  '-s': { max: 1_000, why: 'percent' },
} as const satisfies Record<string, FlagLimit>;

export type LimitedFlag = keyof typeof FLAG_MAXIMA;

export function limitOf(flag: LimitedFlag): FlagLimit {
  return FLAG_MAXIMA[flag];
}
