/** Progress events the profiler emits, for the CLI's stderr progress line and verbose output. */
import type { LevelResult, LoadMode } from '../report/model.ts';

export type ProfileEvent =
  | {
      type: 'level_start';
      mode: LoadMode;
      /** Concurrency or request rate (req/s). */
      value: number;
      /** 0-based position of the level in the sweep. */
      levelIndex: number;
      /** perf_analyzer's "Using synchronous/asynchronous calls for inference". */
      callMode: 'sync' | 'async';
    }
  | {
      type: 'window_end';
      mode: LoadMode;
      value: number;
      /** 1-based window index within the level, and the most windows the level may take. */
      windowIndex: number;
      maxWindows: number;
      throughputPerSec: number;
      /** Stabilising latency of the window (µs; +∞ when it had no valid request). */
      latencyUs: number;
      requestCount: number;
      errorCount: number;
      /** max/min over the last ≤ K windows so far (1 = identical). */
      spread: { throughput: number; latency: number };
    }
  | { type: 'level_end'; level: LevelResult };
