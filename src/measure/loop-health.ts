/**
 * The generator watching itself, because a Node load generator can easily be the bottleneck (perf_analyzer
 * issues server#14, #2306, #6637). The monitor reads the real process (event-loop delay histogram,
 * event-loop utilisation, CPU time) with real time: it measures this process, not the system under test, so it
 * does not take the injected Clock. `generatorHealth` turns a sample into warnings and is pure.
 */

import {
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks';
import { msToNs, nsToUs, usToMs } from '../protocol/units.ts';
import type { GeneratorHealth } from '../report/model.ts';

export interface LoopHealthSample {
  eventLoopDelayP99Us: number;
  eventLoopDelayMaxUs: number;
  eventLoopUtilization: number;
  /** Process CPU time / wall time over the sample (1.0 = one core busy). */
  cpuCores: number;
  /** Real length of the sample (ms), the weight when samples merge. */
  wallMs: number;
}

/** Sampling period of the delay monitor. Node records the whole interval between its timer ticks, so an idle
 * loop reads ≈ this value: it is subtracted to get the delay itself. */
const DELAY_RESOLUTION_MS = 10;
const DELAY_RESOLUTION_NS = msToNs(DELAY_RESOLUTION_MS);

/** Samples the main thread's health between calls to `sample()`. */
export class LoopHealthMonitor {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private cpu: NodeJS.CpuUsage = process.cpuUsage();
  private wallStartMs = performance.now();

  start(): void {
    this.delay.enable();
    this.reset();
  }

  /** Figures since the previous `sample()`/`start()`; starts the next sample. */
  sample(): LoopHealthSample {
    const nowMs = performance.now();
    const wallMs = nowMs - this.wallStartMs;
    const elu = performance.eventLoopUtilization(this.elu);
    const cpu = process.cpuUsage(this.cpu);
    const hasDelay = this.delay.count > 0;
    const out: LoopHealthSample = {
      eventLoopDelayP99Us: hasDelay
        ? nsToUs(Math.max(0, this.delay.percentile(99) - DELAY_RESOLUTION_NS))
        : 0,
      eventLoopDelayMaxUs: hasDelay ? nsToUs(Math.max(0, this.delay.max - DELAY_RESOLUTION_NS)) : 0,
      eventLoopUtilization: elu.utilization,
      cpuCores: wallMs > 0 ? usToMs(cpu.user + cpu.system) / wallMs : 0,
      wallMs,
    };
    this.reset();
    return out;
  }

  stop(): void {
    this.delay.disable();
  }

  private reset(): void {
    this.delay.reset();
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    this.wallStartMs = performance.now();
  }
}

/** Combines samples weighted by their wall time; delay p99 and max take the worst sample (percentiles don't add). */
export function mergeLoopHealth(samples: readonly LoopHealthSample[]): LoopHealthSample | undefined {
  if (samples.length === 0) return undefined;
  const wallMs = samples.reduce((s, x) => s + x.wallMs, 0);
  const weighted = (pick: (x: LoopHealthSample) => number) =>
    wallMs > 0 ? samples.reduce((s, x) => s + pick(x) * x.wallMs, 0) / wallMs : 0;
  return {
    eventLoopDelayP99Us: Math.max(...samples.map((x) => x.eventLoopDelayP99Us)),
    eventLoopDelayMaxUs: Math.max(...samples.map((x) => x.eventLoopDelayMaxUs)),
    eventLoopUtilization: weighted((x) => x.eventLoopUtilization),
    cpuCores: weighted((x) => x.cpuCores),
    wallMs,
  };
}

/** Thresholds above which the generator is flagged as a possible bottleneck. */
export const HEALTH_LIMITS = {
  /** Event-loop utilisation (0..1). */
  maxEventLoopUtilization: 0.9,
  /** Event-loop delay p99 as a fraction of the measured p50 latency. */
  maxLoopDelayToP50: 0.1,
  /** Open loop: achieved / intended send rate. */
  minAchievedRateRatio: 0.95,
  /** Fraction of delayed sends (perf_analyzer's DELAY_PCT_THRESHOLD, 1 %). */
  maxDelayedFraction: 0.01,
} as const;

export interface HealthContext {
  latencyP50Us: number;
  delayedCount: number;
  sentCount: number;
  /** Open loop only. */
  achievedRateRatio?: number;
}

/** Pure: a sample plus what the window measured → `GeneratorHealth` with human-readable warnings. */
export function generatorHealth(sample: LoopHealthSample | undefined, ctx: HealthContext): GeneratorHealth {
  const warnings: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (sample && sample.eventLoopUtilization > HEALTH_LIMITS.maxEventLoopUtilization) {
    warnings.push(
      `Generator event loop was busy ${pct(sample.eventLoopUtilization)} of the time; the client may be the bottleneck (try --worker-threads).`,
    );
  }
  if (
    sample &&
    ctx.latencyP50Us > 0 &&
    sample.eventLoopDelayP99Us > HEALTH_LIMITS.maxLoopDelayToP50 * ctx.latencyP50Us
  ) {
    warnings.push(
      `Generator event-loop delay p99 (${Math.round(sample.eventLoopDelayP99Us)} usec) exceeds 10% of the p50 latency (${Math.round(ctx.latencyP50Us)} usec); latencies include client-side waiting.`,
    );
  }
  if (ctx.achievedRateRatio !== undefined && ctx.achievedRateRatio < HEALTH_LIMITS.minAchievedRateRatio) {
    warnings.push(`Generator achieved only ${pct(ctx.achievedRateRatio)} of the intended request rate.`);
  }
  if (ctx.sentCount > 0 && ctx.delayedCount / ctx.sentCount > HEALTH_LIMITS.maxDelayedFraction) {
    warnings.push(
      `${pct(ctx.delayedCount / ctx.sentCount)} of the requests were sent later than the delay tolerance after their intended time.`,
    );
  }
  return {
    eventLoopDelayP99Us: sample?.eventLoopDelayP99Us ?? 0,
    eventLoopDelayMaxUs: sample?.eventLoopDelayMaxUs ?? 0,
    eventLoopUtilization: sample?.eventLoopUtilization ?? 0,
    cpuCores: sample?.cpuCores ?? 0,
    achievedRateRatio: ctx.achievedRateRatio,
    bottleneckWarnings: warnings,
  };
}
