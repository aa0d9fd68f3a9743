import type { LevelResult, Measurement, RunResult, WindowResult } from '../../../src/report/model.ts';

/** A measurement with the figures a gate reads; everything else neutral. */
export function measurement(p: {
  throughput: number;
  p95Us: number;
  meanUs?: number;
  errors?: number;
  requests?: number;
}): Measurement {
  const requests = p.requests ?? 1000;
  return {
    durationNs: 5e9,
    requestCount: requests,
    sentCount: requests + (p.errors ?? 0),
    errorCount: p.errors ?? 0,
    errorsByKind: p.errors ? { 'http:503': p.errors } : {},
    delayedCount: 0,
    throughputPerSec: p.throughput,
    sendRatePerSec: p.throughput,
    latency: {
      count: requests,
      minUs: 100,
      maxUs: p.p95Us * 2,
      meanUs: p.meanUs ?? p.p95Us / 2,
      stdUs: 10,
      percentilesUs: { '50': p.p95Us / 2, '90': p.p95Us * 0.9, '95': p.p95Us, '99': p.p95Us * 1.2 },
    },
    latencyHistogram: '',
    clientSendUs: 5,
    clientRecvUs: 5,
    responseWaitUs: 100,
    generator: {
      eventLoopDelayP99Us: 100,
      eventLoopDelayMaxUs: 200,
      eventLoopUtilization: 0.2,
      cpuCores: 0.3,
      bottleneckWarnings: [],
    },
  };
}

export function level(value: number, windows: Measurement[], merged?: Measurement): LevelResult {
  const ws: WindowResult[] = windows.map((w, i) => ({
    ...w,
    index: i + 1,
    startWallMs: 1_700_000_000_000 + i * 5000,
  }));
  return {
    mode: 'concurrency',
    value,
    status: 'stable',
    reported: true,
    windows: ws,
    merged: merged ?? windows[windows.length - 1],
    stabilizingLatencyUs: merged?.latency.meanUs,
    stopReason: 'stable',
  };
}

export function run(levels: LevelResult[]): RunResult {
  return {
    schemaVersion: 1,
    tool: { name: 'inferbench', version: '0.1.0' },
    startedAtWallMs: 1_700_000_000_000,
    finishedAtWallMs: 1_700_000_060_000,
    environment: {
      node: 'v20',
      platform: 'linux',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'test',
      totalMemoryBytes: 1,
      hostname: 'h',
    },
    config: {},
    model: {
      name: 'm',
      version: '1',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 8,
      inputs: [],
      outputs: [],
      dynamicBatching: false,
      responseCache: false,
      composingModels: [],
      serverExtensions: [],
    },
    serverStats: { available: true },
    levels,
    warnings: [],
    exitCode: 0,
  };
}
