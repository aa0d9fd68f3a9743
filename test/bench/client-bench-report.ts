/**
 * The client benchmark's arithmetic and tables (pure): per-run figures in, medians, paired ratios, target
 * verdicts and the Markdown table out. The benchmark itself (client.bench.ts) only measures.
 *
 * - Client overhead of one run at concurrency 1 = client mean latency − server mean request latency
 *   (statistics extension: success.ns / success.count over the same window).
 * - Rate ratio at a concurrency = median over repetitions of (ours / autocannon), each pair measured back to
 *   back (ours, then autocannon), so that machine noise hits both sides of a pair alike.
 */

export type BenchProtocol = 'http' | 'grpc';

/** One measured window of our load generator (the real profiler path). */
export interface OursRun {
  protocol: BenchProtocol;
  concurrency: number;
  rep: number;
  /** Successful requests per second over the window. */
  ratePerSec: number;
  errors: number;
  clientMeanUs: number;
  clientP50Us: number;
  /** Server mean request latency over the same window (success.ns / success.count); NaN without statistics. */
  serverMeanUs: number;
  /** Process CPU time spent per completed request (µs): the generator's own cost, server excluded. */
  cpuUsPerRequest: number;
}

/** One measured autocannon run against the HTTP endpoint. */
export interface AutocannonRun {
  concurrency: number;
  rep: number;
  /** 2xx responses per second over autocannon's own duration. */
  ratePerSec: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Mean time between requests on one connection (µs) = connections / rate: at c=1, latency + client gap. */
  cycleUs: number;
  /** Server mean request latency over the run; NaN when not read. */
  serverMeanUs: number;
  cpuUsPerRequest: number;
}

/** One run of a floor at c=1: the raw-socket HTTP floor (raw-http-floor.ts) or the bare HTTP/2 gRPC floor (raw-grpc-floor.ts). */
export interface FloorRun {
  rep: number;
  ratePerSec: number;
  meanUs: number;
  serverMeanUs: number;
  cpuUsPerRequest: number;
  non2xx: number;
}

export interface FloorSummary {
  reps: number;
  medianOverheadUs: number;
  medianMeanUs: number;
  medianServerMeanUs: number;
  medianCycleUs: number;
  medianCpuUsPerRequest: number;
}

export interface Targets {
  /** Median client overhead at concurrency 1 must be ≤ this (µs). */
  maxOverheadUs: number;
  /** Ours / autocannon request rate at equal connections must be ≥ this. */
  minRateRatio: number;
}

export const DEFAULT_TARGETS: Targets = { maxOverheadUs: 100, minRateRatio: 1.0 };

export interface OverheadSummary {
  protocol: BenchProtocol;
  reps: number;
  medianOverheadUs: number;
  medianClientMeanUs: number;
  medianClientP50Us: number;
  medianServerMeanUs: number;
  /** 1e6 / rate: time per request on the one connection, the client's gap between requests included. */
  medianCycleUs: number;
  met: boolean;
}

export interface RateRow {
  concurrency: number;
  httpRatePerSec: number;
  grpcRatePerSec: number;
  autocannonRatePerSec: number;
  /** Median of the paired ratios ours(HTTP) / autocannon; NaN when a side is missing. */
  ratio: number;
  ratios: number[];
  httpCpuUsPerRequest: number;
  grpcCpuUsPerRequest: number;
  autocannonCpuUsPerRequest: number;
  /** Errors of ours (both protocols) and non-2xx + errors + timeouts of autocannon, summed over the reps. */
  oursErrors: number;
  autocannonBad: number;
  met: boolean;
}

export interface ClientBenchSummary {
  overhead: OverheadSummary[];
  /** Autocannon at c=1, for comparison: median cycle − server mean latency (µs); NaN when not measured. */
  autocannonC1CycleOverheadUs: number;
  /** The raw-socket floor at c=1 (reference: no Node client measures less); undefined when not run. */
  floor?: FloorSummary;
  /** The bare node:http2 gRPC floor at c=1 (reference: no unary gRPC client on Node measures less); undefined when not run. */
  grpcFloor?: FloorSummary;
  rates: RateRow[];
  targets: Targets;
  overheadMet: boolean;
  ratioMet: boolean;
  /** False when autocannon got any non-2xx, error or timeout: the comparison is then invalid. */
  autocannonValid: boolean;
}

/** Median (mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Mean per-request duration in µs from a statistics `{count, ns}` delta; NaN when count is 0. */
export function perRequestUs(durationNs: number, count: number): number {
  return count > 0 ? durationNs / count / 1000 : Number.NaN;
}

/** ours[i] / theirs[i] for the reps both sides have (paired by `rep`). */
export function pairedRatios(
  ours: readonly { rep: number; ratePerSec: number }[],
  theirs: readonly { rep: number; ratePerSec: number }[],
): number[] {
  const out: number[] = [];
  for (const o of ours) {
    const t = theirs.find((x) => x.rep === o.rep);
    if (t && t.ratePerSec > 0) out.push(o.ratePerSec / t.ratePerSec);
  }
  return out;
}

export function summarizeClientBench(
  ours: readonly OursRun[],
  autocannon: readonly AutocannonRun[],
  targets: Targets = DEFAULT_TARGETS,
  floorRuns: readonly FloorRun[] = [],
  grpcFloorRuns: readonly FloorRun[] = [],
): ClientBenchSummary {
  const protocols = (['http', 'grpc'] as const).filter((p) =>
    ours.some((r) => r.protocol === p && r.concurrency === 1),
  );
  const overhead: OverheadSummary[] = protocols.map((protocol) => {
    const c1 = ours.filter((r) => r.protocol === protocol && r.concurrency === 1);
    const medianOverheadUs = median(c1.map((r) => r.clientMeanUs - r.serverMeanUs));
    return {
      protocol,
      reps: c1.length,
      medianOverheadUs,
      medianClientMeanUs: median(c1.map((r) => r.clientMeanUs)),
      medianClientP50Us: median(c1.map((r) => r.clientP50Us)),
      medianServerMeanUs: median(c1.map((r) => r.serverMeanUs)),
      medianCycleUs: median(c1.map((r) => (r.ratePerSec > 0 ? 1e6 / r.ratePerSec : Number.NaN))),
      met: medianOverheadUs <= targets.maxOverheadUs,
    };
  });
  const ac1 = autocannon.filter((r) => r.concurrency === 1);
  const autocannonC1CycleOverheadUs = median(ac1.map((r) => r.cycleUs - r.serverMeanUs));

  const concurrencies = [...new Set([...ours, ...autocannon].map((r) => r.concurrency))].sort(
    (a, b) => a - b,
  );
  const rates: RateRow[] = concurrencies.map((concurrency) => {
    const http = ours.filter((r) => r.protocol === 'http' && r.concurrency === concurrency);
    const grpc = ours.filter((r) => r.protocol === 'grpc' && r.concurrency === concurrency);
    const ac = autocannon.filter((r) => r.concurrency === concurrency);
    const ratios = pairedRatios(http, ac);
    const ratio = median(ratios);
    return {
      concurrency,
      httpRatePerSec: median(http.map((r) => r.ratePerSec)),
      grpcRatePerSec: median(grpc.map((r) => r.ratePerSec)),
      autocannonRatePerSec: median(ac.map((r) => r.ratePerSec)),
      ratio,
      ratios,
      httpCpuUsPerRequest: median(http.map((r) => r.cpuUsPerRequest)),
      grpcCpuUsPerRequest: median(grpc.map((r) => r.cpuUsPerRequest)),
      autocannonCpuUsPerRequest: median(ac.map((r) => r.cpuUsPerRequest)),
      oursErrors: [...http, ...grpc].reduce((s, r) => s + r.errors, 0),
      autocannonBad: ac.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0),
      met: ratio >= targets.minRateRatio,
    };
  });
  const withRatio = rates.filter((r) => !Number.isNaN(r.ratio));
  const floor = floorSummary(floorRuns);
  const grpcFloor = floorSummary(grpcFloorRuns);
  return {
    overhead,
    autocannonC1CycleOverheadUs,
    ...(floor ? { floor } : {}),
    ...(grpcFloor ? { grpcFloor } : {}),
    rates,
    targets,
    overheadMet: overhead.length > 0 && overhead.every((o) => o.met),
    ratioMet: withRatio.length > 0 && withRatio.every((r) => r.met),
    autocannonValid:
      autocannon.every((r) => r.non2xx + r.errors + r.timeouts === 0 && r.ok2xx > 0) &&
      [...floorRuns, ...grpcFloorRuns].every((r) => r.non2xx === 0),
  };
}

function floorSummary(runs: readonly FloorRun[]): FloorSummary | undefined {
  if (runs.length === 0) return undefined;
  return {
    reps: runs.length,
    medianOverheadUs: median(runs.map((r) => r.meanUs - r.serverMeanUs)),
    medianMeanUs: median(runs.map((r) => r.meanUs)),
    medianServerMeanUs: median(runs.map((r) => r.serverMeanUs)),
    medianCycleUs: median(runs.map((r) => (r.ratePerSec > 0 ? 1e6 / r.ratePerSec : Number.NaN))),
    medianCpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
  };
}

function fmt(x: number, digits = 0): string {
  if (Number.isNaN(x)) return '–';
  return digits === 0 ? String(Math.round(x)) : x.toFixed(digits);
}

const verdict = (met: boolean): string => (met ? 'MET' : 'NOT MET');

/** The two Markdown tables (overhead at c=1, rates per concurrency) and the verdict lines. */
export function renderClientBenchTables(s: ClientBenchSummary): string {
  const label = (p: BenchProtocol) => (p === 'http' ? 'HTTP binary' : 'gRPC');
  const overhead = [
    '| Protocol (c=1) | client overhead µs (median) | client mean µs | client p50 µs | server request µs | µs per request (1/rate) | reps |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...s.overhead.map(
      (o) =>
        `| ${label(o.protocol)} | ${fmt(o.medianOverheadUs, 1)} | ${fmt(o.medianClientMeanUs, 1)} | ${fmt(o.medianClientP50Us)} | ${fmt(o.medianServerMeanUs, 1)} | ${fmt(o.medianCycleUs, 1)} | ${o.reps} |`,
    ),
    ...(s.floor
      ? [
          `| raw-socket floor, HTTP (reference) | ${fmt(s.floor.medianOverheadUs, 1)} | ${fmt(s.floor.medianMeanUs, 1)} | – | ${fmt(s.floor.medianServerMeanUs, 1)} | ${fmt(s.floor.medianCycleUs, 1)} | ${s.floor.reps} |`,
        ]
      : []),
    ...(s.grpcFloor
      ? [
          `| bare node:http2 floor, gRPC (reference) | ${fmt(s.grpcFloor.medianOverheadUs, 1)} | ${fmt(s.grpcFloor.medianMeanUs, 1)} | – | ${fmt(s.grpcFloor.medianServerMeanUs, 1)} | ${fmt(s.grpcFloor.medianCycleUs, 1)} | ${s.grpcFloor.reps} |`,
        ]
      : []),
  ].join('\n');
  const rates = [
    '| c | ours HTTP req/s | autocannon req/s | ours / autocannon (median of pairs) | ours gRPC req/s | CPU µs/req ours HTTP | CPU µs/req autocannon | CPU µs/req ours gRPC | errors ours / autocannon |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...s.rates.map(
      (r) =>
        `| ${r.concurrency} | ${fmt(r.httpRatePerSec)} | ${fmt(r.autocannonRatePerSec)} | ${fmt(r.ratio, 2)} | ${fmt(r.grpcRatePerSec)} | ${fmt(r.httpCpuUsPerRequest, 1)} | ${fmt(r.autocannonCpuUsPerRequest, 1)} | ${fmt(r.grpcCpuUsPerRequest, 1)} | ${r.oursErrors} / ${r.autocannonBad} |`,
    ),
  ].join('\n');
  const worstOverhead = Math.max(...s.overhead.map((o) => o.medianOverheadUs));
  const worstRatio = Math.min(...s.rates.filter((r) => !Number.isNaN(r.ratio)).map((r) => r.ratio));
  const http = s.overhead.find((o) => o.protocol === 'http');
  const grpc = s.overhead.find((o) => o.protocol === 'grpc');
  const lines = [
    ...(s.floor && http
      ? [
          `- Our HTTP client's own share of the c=1 overhead (ours − raw-socket floor): ${fmt(http.medianOverheadUs - s.floor.medianOverheadUs, 1)} µs; the floor (${fmt(s.floor.medianOverheadUs, 1)} µs) is kernel, loopback and the server's HTTP handling outside its statistics.`,
        ]
      : []),
    ...(s.grpcFloor && grpc
      ? [
          `- Our gRPC client's own share of the c=1 overhead (ours − bare node:http2 floor): ${fmt(grpc.medianOverheadUs - s.grpcFloor.medianOverheadUs, 1)} µs (the load loop, timestamps and outcomes on top of the same node:http2 calls); the floor (${fmt(s.grpcFloor.medianOverheadUs, 1)} µs, ${fmt(s.grpcFloor.medianCpuUsPerRequest, 1)} µs of client CPU per request) is Node's HTTP/2 at both ends, loopback and the server's gRPC handling outside its statistics.`,
        ]
      : []),
    `- Median client overhead at c=1 ≤ ${s.targets.maxOverheadUs} µs: **${verdict(s.overheadMet)}** (worst ${fmt(worstOverhead, 1)} µs).`,
    `- Request rate ≥ ${s.targets.minRateRatio.toFixed(1)}× autocannon at equal connections: **${verdict(s.ratioMet)}** (lowest ${fmt(worstRatio, 3)}×).`,
    s.autocannonValid
      ? '- autocannon got only 2xx responses (the comparison is valid).'
      : '- **autocannon (or the floor) got non-2xx responses, errors or timeouts: the comparison is INVALID.**',
  ].join('\n');
  return `${overhead}\n\n${rates}\n\n${lines}\n`;
}
