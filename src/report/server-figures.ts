/**
 * The server-side averages perf_analyzer derives from a statistics delta (§5.2): the ONE implementation, used by
 * the stdout block, the CSV, the HTML report and the benchmarks. Shared by the stdout block and
 * the CSV so both always agree. All figures are µs, integer, truncated like perf_analyzer's integer division.
 */
import { wholeMeanUs as avgUs } from '../protocol/units.ts';
import type { ServerStatsDelta } from './model.ts';

export interface ServerFigures {
  requestUs: number;
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
  /** (input + infer + output ns) / compute count. */
  computeUs: number;
  cacheHitUs: number;
  cacheMissUs: number;
  /** Cache variant: (hit + miss + compute ns) / (compute count + hit count). */
  cacheCombinedUs: number;
  /** max(0, request − queue − compute), or − combined when the response cache is on. */
  overheadUs: number;
}

/** Figures for one (non-ensemble) model, perf_analyzer's formulas. */
export function serverFigures(delta: ServerStatsDelta, cacheEnabled: boolean): ServerFigures {
  const computeNs = delta.computeInput.ns + delta.computeInfer.ns + delta.computeOutput.ns;
  const computeCount = delta.computeInput.count;
  const computeUs = avgUs({ count: computeCount, ns: computeNs });
  const combinedCount = computeCount + delta.cacheHit.count;
  const cacheCombinedUs = avgUs({
    count: combinedCount,
    ns: delta.cacheHit.ns + delta.cacheMiss.ns + computeNs,
  });
  const requestUs = avgUs(delta.success);
  const queueUs = avgUs(delta.queue);
  const overheadUs = Math.max(0, requestUs - queueUs - (cacheEnabled ? cacheCombinedUs : computeUs));
  return {
    requestUs,
    queueUs,
    computeInputUs: avgUs(delta.computeInput),
    computeInferUs: avgUs(delta.computeInfer),
    computeOutputUs: avgUs(delta.computeOutput),
    computeUs,
    cacheHitUs: avgUs(delta.cacheHit),
    cacheMissUs: avgUs(delta.cacheMiss),
    cacheCombinedUs,
    overheadUs,
  };
}

export interface EnsembleFigures {
  requestUs: number;
  /** Σ over the leaf composing models of their average queue time. */
  queueUs: number;
  /** Σ over the leaf composing models of their average compute time. */
  computeUs: number;
  overheadUs: number;
}

/** perf_analyzer's ensemble summary: leaf models' queue and compute averages summed, nested ensembles walked. */
export function ensembleFigures(delta: ServerStatsDelta): EnsembleFigures {
  let queueUs = 0;
  let computeUs = 0;
  const walk = (node: ServerStatsDelta): void => {
    for (const child of node.composing) {
      if (child.composing.length > 0) {
        walk(child);
      } else {
        const f = serverFigures(child, false);
        queueUs += f.queueUs;
        computeUs += f.computeUs;
      }
    }
  };
  walk(delta);
  const requestUs = avgUs(delta.success);
  return { requestUs, queueUs, computeUs, overheadUs: Math.max(0, requestUs - queueUs - computeUs) };
}

/** Every composing model below an ensemble, depth first (what perf_analyzer writes one CSV for). */
export function flattenComposing(delta: ServerStatsDelta): ServerStatsDelta[] {
  return delta.composing.flatMap((child) => [child, ...flattenComposing(child)]);
}
