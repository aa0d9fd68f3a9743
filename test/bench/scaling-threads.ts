/**
 * `bench:server-scaling --threads`: the server's `--http-thread-count` for each core count. `default` is what
 * `inferbench serve` picks on that many cores, `cores` one thread per core, a number that many everywhere.
 */
import {
  defaultIngressThreads,
  MAX_INGRESS_THREADS,
} from '../../embedded-server/src/ingress/ingress-pool.ts';

/** The thread count per core count that `--threads <text>` asks for; throws on anything else. */
export function ingressThreadsFor(text: string): (cores: number) => number {
  if (text === 'default') return (cores) => defaultIngressThreads(cores);
  if (text === 'cores') return (cores) => cores;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > MAX_INGRESS_THREADS)
    throw new Error(`--threads: expected default, cores or 0-${MAX_INGRESS_THREADS}, got '${text}'`);
  return () => n;
}
