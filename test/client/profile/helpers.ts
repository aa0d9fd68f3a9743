/** Settings and server doubles for profiler tests. */
import type { LoadSettings, MeasurementSettings, ProfileSettings } from '../../../src/profile/settings.ts';
import type {
  ModelMetadataInfo,
  ModelStatsSnapshot,
  ServerApi,
  ServerMetadataInfo,
} from '../../../src/transport/server-api.ts';
import { ServerApiError } from '../../../src/transport/server-api.ts';

export function settingsWith(
  load: LoadSettings,
  measurement: Partial<MeasurementSettings> = {},
  over: Partial<ProfileSettings> = {},
): ProfileSettings {
  return {
    modelName: 'm',
    modelVersion: '',
    protocol: 'http',
    url: 'localhost:8000',
    batchSize: 1,
    load,
    search: 'linear',
    async: false,
    streaming: false,
    workerThreads: 1,
    requestTimeoutMs: 0,
    maxErrorRate: 1,
    measurement: {
      mode: 'time_windows',
      windowMs: 100,
      windowRequestCount: 50,
      stabilityThreshold: 0.1,
      stabilityWindows: 3,
      maxTrials: 10,
      latencyThresholdMs: 0,
      warmupRequestCount: 0,
      requestCount: 0,
      singleMeasurement: false,
      delayToleranceUs: 1000,
      ...measurement,
    },
    ...over,
  };
}

export const concurrency = (start: number, end = start, step = 1): LoadSettings => ({
  mode: 'concurrency',
  range: { start, end, step },
});

/** A ServerApi whose statistics report `executions()` successful executions of model m version 1. */
export class FakeStatsApi implements ServerApi {
  calls = 0;
  constructor(private readonly executions: () => number) {}
  async modelStatistics(): Promise<ModelStatsSnapshot[]> {
    this.calls++;
    const n = this.executions();
    const d = (ns: number) => ({ count: n, ns: n * ns });
    return [
      {
        name: 'm',
        version: '1',
        inferenceCount: n,
        executionCount: n,
        success: d(1_000_000),
        fail: { count: 0, ns: 0 },
        queue: d(100_000),
        computeInput: d(0),
        computeInfer: d(800_000),
        computeOutput: d(0),
        cacheHit: { count: 0, ns: 0 },
        cacheMiss: { count: 0, ns: 0 },
      },
    ];
  }
  serverLive = async () => true;
  serverMetadata = async (): Promise<ServerMetadataInfo> => ({ name: 'fake', version: '0', extensions: [] });
  modelMetadata = async (): Promise<ModelMetadataInfo> => {
    throw new ServerApiError('not_supported', 'fake');
  };
  modelReady = async () => true;
  modelConfig = async (): Promise<never> => {
    throw new ServerApiError('not_supported', 'fake');
  };
  close = async () => {};
}
