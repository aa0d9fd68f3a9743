/**
 * Measures this host's clock offset against an HTTP server's `Date` header (clock-offset.ts has the
 * arithmetic): a round of probes spread over one second, then a round around the estimated second boundary.
 * Bounded: at most ~3 s and 2 s per probe; on failure the offset is 0 with a warning, never an abort.
 */
import {
  boundaryProbeTimes,
  type ClockOffset,
  type DateProbe,
  offsetFromDateProbes,
  spreadProbeTimes,
} from './clock-offset.ts';

const FIRST_ROUND = 20;
const SECOND_ROUND = 10;
const PROBE_TIMEOUT_MS = 2000;

async function probeOnce(url: string): Promise<DateProbe | undefined> {
  const sendWallMs = Date.now();
  try {
    const response = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const receiveWallMs = Date.now();
    await response.arrayBuffer().catch(() => undefined);
    const header = response.headers.get('date');
    const dateMs = header === null ? Number.NaN : Date.parse(header);
    return Number.isFinite(dateMs) ? { sendWallMs, receiveWallMs, dateMs } : undefined;
  } catch {
    return undefined;
  }
}

const sleepUntil = (wallMs: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, wallMs - Date.now())));

async function probeAt(url: string, timesMs: readonly number[], into: DateProbe[]): Promise<void> {
  await Promise.all(
    timesMs.map(async (t) => {
      await sleepUntil(t);
      const probe = await probeOnce(url);
      if (probe) into.push(probe);
    }),
  );
}

/** The offset of this host's clock from `url`'s (reference − local), or a reason it could not be measured. */
export async function measureClockOffset(url: string): Promise<ClockOffset | { error: string }> {
  const probes: DateProbe[] = [];
  await probeAt(url, spreadProbeTimes(Date.now() + 10, FIRST_ROUND), probes);
  const first = offsetFromDateProbes(probes);
  if (!first) return { error: `no usable Date header from ${url} (${probes.length} probes answered)` };
  await probeAt(url, boundaryProbeTimes(first, Date.now() + 10, SECOND_ROUND), probes);
  const both = offsetFromDateProbes(probes) ?? first;
  return { ...both, source: url, probes: probes.length };
}
