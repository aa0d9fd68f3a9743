/**
 * Hand-built RunResults for the renderer golden tests. Numbers are chosen so the printed figures can be checked
 * by hand: e.g. concurrency 2 completes 10182 requests in 15.000552 s → 678.775 infer/sec, p95 5959 µs.
 */
import type { ProfileSettings } from '../../../src/profile/settings.ts';
import type {
  LatencySummary,
  LevelResult,
  Measurement,
  RunResult,
  ServerStatsDelta,
  WindowResult,
} from '../../../src/report/model.ts';

export function baseSettings(overrides: Partial<ProfileSettings> = {}): ProfileSettings {
  return {
    modelName: 'simple',
    modelVersion: '',
    protocol: 'http',
    url: 'localhost:8000',
    batchSize: 1,
    load: { mode: 'concurrency', range: { start: 1, end: 3, step: 1 } },
    search: 'linear',
    async: false,
    streaming: false,
    workerThreads: 1,
    measurement: {
      mode: 'time_windows',
      windowMs: 5000,
      windowRequestCount: 50,
      stabilityThreshold: 0.1,
      stabilityWindows: 3,
      maxTrials: 10,
      latencyThresholdMs: 0,
      warmupRequestCount: 0,
      requestCount: 0,
      singleMeasurement: false,
      delayToleranceUs: 1000,
    },
    requestTimeoutMs: 0,
    maxErrorRate: 1,
    ...overrides,
  };
}

export function latency(
  meanUs: number,
  stdUs: number,
  p: [number, number, number, number],
  extra = {},
): LatencySummary {
  return {
    count: 1000,
    minUs: Math.round(p[0] / 2),
    maxUs: p[3] * 2,
    meanUs,
    stdUs,
    percentilesUs: { '50': p[0], '90': p[1], '95': p[2], '99': p[3], ...extra },
  };
}

export function stat(count: number, avgUs: number): { count: number; ns: number } {
  return { count, ns: Math.round(count * avgUs * 1000) };
}

/** Server stats whose averages (µs) are exactly the given integers. */
export function serverStats(
  count: number,
  us: { request: number; queue: number; input: number; infer: number; output: number },
  model = 'simple',
): ServerStatsDelta {
  return {
    model,
    version: '1',
    inferenceCount: count,
    executionCount: count,
    success: stat(count, us.request),
    fail: { count: 0, ns: 0 },
    queue: stat(count, us.queue),
    computeInput: stat(count, us.input),
    computeInfer: stat(count, us.infer),
    computeOutput: stat(count, us.output),
    cacheHit: { count: 0, ns: 0 },
    cacheMiss: { count: 0, ns: 0 },
    composing: [],
  };
}

export function measurement(
  requestCount: number,
  durationNs: number,
  fields: Partial<Measurement> = {},
): Measurement {
  return {
    durationNs,
    requestCount,
    sentCount: requestCount,
    errorCount: 0,
    errorsByKind: {},
    delayedCount: 0,
    throughputPerSec: requestCount / (durationNs / 1e9),
    sendRatePerSec: requestCount / (durationNs / 1e9),
    latency: latency(1000, 100, [1000, 1200, 1300, 1500]),
    latencyHistogram: 'HISTFAAAAB94nJNpmSzMwMDAxQABzFCaEUzKOHywh4gwAgBfxAXw',
    clientSendUs: 20,
    clientRecvUs: 10,
    responseWaitUs: 900,
    generator: {
      eventLoopDelayP99Us: 250,
      eventLoopDelayMaxUs: 900,
      eventLoopUtilization: 0.21,
      cpuCores: 0.35,
      bottleneckWarnings: [],
    },
    ...fields,
  };
}

/** Splits a merged measurement into three equal windows (for -v pass lines and the profile export). */
export function windowsOf(m: Measurement, startWallMs: number): WindowResult[] {
  return [1, 2, 3].map((index) => ({
    ...m,
    requestCount: Math.round(m.requestCount / 3),
    sentCount: Math.round(m.sentCount / 3),
    durationNs: m.durationNs / 3,
    index,
    startWallMs: startWallMs + ((index - 1) * m.durationNs) / 3 / 1e6,
  }));
}

export function level(
  mode: LevelResult['mode'],
  value: number,
  merged: Measurement,
  stabilizingLatencyUs: number,
  startWallMs: number,
): LevelResult {
  return {
    mode,
    value,
    status: 'stable',
    reported: true,
    windows: windowsOf(merged, startWallMs),
    merged,
    stabilizingLatencyUs,
    spread: { throughput: 1.03, latency: 1.05 },
    stopReason: 'stable',
  };
}

export function runResult(
  settings: ProfileSettings,
  levels: LevelResult[],
  fields: Partial<RunResult> = {},
): RunResult {
  return {
    schemaVersion: 1,
    tool: { name: 'inferbench', version: '0.1.0' },
    startedAtWallMs: 1_700_000_000_000,
    finishedAtWallMs: 1_700_000_060_000,
    environment: {
      node: 'v20.20.2',
      platform: 'linux',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'Test CPU',
      totalMemoryBytes: 8_000_000_000,
      hostname: 'bench-host',
    },
    config: { ...settings },
    model: {
      name: settings.modelName,
      version: '1',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 8,
      inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] }],
      dynamicBatching: false,
      responseCache: false,
      composingModels: [],
      serverExtensions: ['statistics', 'model_configuration'],
    },
    serverStats: { available: true },
    levels,
    warnings: [],
    exitCode: 0,
    ...fields,
  };
}

/**
 * A 3-level concurrency sweep with server stats. Concurrency 2: 10182 requests in 15.000552 s → 678.775
 * infer/sec; mean 2946 µs, p95 5959 µs. Concurrency 3 is slower than 2 in throughput, so the CSV reorders it.
 */
export function concurrencySweep(percentile?: number): RunResult {
  const settings = baseSettings();
  if (percentile !== undefined) settings.measurement = { ...settings.measurement, percentile };
  const l1 = measurement(6766, 15_000_000_000, {
    latency: latency(2215, 180, [2190, 2500, 2640, 2960]),
    clientSendUs: 31,
    clientRecvUs: 12,
    responseWaitUs: 2160,
    server: serverStats(6770, { request: 1890, queue: 40, input: 25, infer: 1700, output: 15 }),
  });
  const l2 = measurement(10182, 15_000_552_000, {
    latency: latency(2946, 1063, [2800, 4900, 5959, 7400]),
    clientSendUs: 33,
    clientRecvUs: 13,
    responseWaitUs: 2890,
    server: serverStats(10190, { request: 2620, queue: 700, input: 26, infer: 1760, output: 16 }),
  });
  const l3 = measurement(10143, 15_001_000_000, {
    latency: latency(4437, 1502, [4300, 6400, 7110, 9020]),
    clientSendUs: 35,
    clientRecvUs: 14,
    responseWaitUs: 4380,
    server: serverStats(10150, { request: 4100, queue: 2150, input: 27, infer: 1790, output: 17 }),
  });
  const stab = (m: Measurement): number =>
    percentile === undefined ? m.latency.meanUs : m.latency.percentilesUs[String(percentile)]!;
  return runResult(settings, [
    level('concurrency', 1, l1, stab(l1), 1_700_000_000_000),
    level('concurrency', 2, l2, stab(l2), 1_700_000_015_000),
    level('concurrency', 3, l3, stab(l3), 1_700_000_030_000),
  ]);
}

/** A Poisson request-rate run where level 2 could not keep up (3.4 % delayed) and saw errors. */
export function requestRateRun(): RunResult {
  const settings = baseSettings({
    async: true,
    load: {
      mode: 'request_rate',
      range: { start: 100, end: 200, step: 100 },
      distribution: 'poisson',
      seed: 42,
      maxInFlight: 0,
    },
  });
  const r1 = measurement(1500, 15_000_000_000, {
    sentCount: 1500,
    sendRatePerSec: 100,
    latency: latency(1450, 300, [1400, 1800, 2000, 2600]),
    uncorrectedLatency: latency(1440, 290, [1390, 1790, 1980, 2550]),
    server: serverStats(1500, { request: 1200, queue: 30, input: 20, infer: 1100, output: 10 }),
  });
  const r2 = measurement(2950, 15_000_000_000, {
    sentCount: 2953,
    sendRatePerSec: 196.87,
    delayedCount: 100,
    errorCount: 3,
    errorsByKind: { 'http:503': 2, timeout: 1 },
    latency: latency(8120, 4010, [6900, 14300, 18800, 26400]),
    uncorrectedLatency: latency(5020, 2100, [4700, 8100, 9900, 12800]),
    generator: {
      eventLoopDelayP99Us: 12000,
      eventLoopDelayMaxUs: 31000,
      eventLoopUtilization: 0.62,
      cpuCores: 0.97,
      achievedRateRatio: 0.984,
      bottleneckWarnings: ['event-loop delay p99 12000 usec is more than 10% of the p50 latency'],
    },
    server: serverStats(2953, { request: 4400, queue: 3200, input: 20, infer: 1150, output: 10 }),
  });
  return runResult(settings, [
    level('request_rate', 100, r1, r1.latency.meanUs, 1_700_000_000_000),
    level('request_rate', 200, r2, r2.latency.meanUs, 1_700_000_015_000),
  ]);
}

/** The concurrency sweep against a server without the statistics extension. */
export function noServerStatsRun(): RunResult {
  const sweep = concurrencySweep();
  return {
    ...sweep,
    serverStats: { available: false, reason: 'server does not advertise the statistics extension' },
    model: { ...sweep.model, serverExtensions: [] },
    levels: sweep.levels.map((l) => {
      const { server: _server, ...merged } = l.merged!;
      return { ...l, merged, windows: l.windows.map(({ server: _s, ...w }) => w) };
    }),
  };
}
