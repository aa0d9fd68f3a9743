/**
 * Statistics-extension responses (HTTP JSON and gRPC messages) → ModelStatsSnapshot, so both ServerApi
 * implementations hand the profiler the same plain numbers.
 */
import type { ModelStatistics } from '../protocol/gen/grpc_service_pb.ts';
import type { ModelStatsSnapshot } from './server-api.ts';

type Duration = { count: number; ns: number };

const DURATION_KEYS = [
  ['success', 'success'],
  ['fail', 'fail'],
  ['queue', 'queue'],
  ['computeInput', 'compute_input'],
  ['computeInfer', 'compute_infer'],
  ['computeOutput', 'compute_output'],
  ['cacheHit', 'cache_hit'],
  ['cacheMiss', 'cache_miss'],
] as const;

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' || typeof v === 'bigint' ? Number(v) : 0;
}

function duration(v: unknown): Duration {
  const d = (v ?? {}) as { count?: unknown; ns?: unknown };
  return { count: num(d.count), ns: num(d.ns) };
}

/** `{"model_stats":[…]}` from `GET /v2/models[/<m>[/versions/<v>]]/stats`. */
export function statsFromJson(json: unknown): ModelStatsSnapshot[] {
  const list = (json as { model_stats?: unknown[] } | null)?.model_stats ?? [];
  return list.map((raw) => {
    const m = raw as Record<string, unknown>;
    const inf = (m.inference_stats ?? {}) as Record<string, unknown>;
    const snap = {
      name: String(m.name ?? ''),
      version: String(m.version ?? ''),
      inferenceCount: num(m.inference_count),
      executionCount: num(m.execution_count),
    } as ModelStatsSnapshot;
    for (const [key, wire] of DURATION_KEYS) snap[key] = duration(inf[wire]);
    return snap;
  });
}

/** gRPC `ModelStatistics` messages (uint64 as bigint) → snapshots. */
export function statsFromGrpc(list: readonly ModelStatistics[]): ModelStatsSnapshot[] {
  return list.map((m) => {
    const inf = m.inferenceStats;
    const snap = {
      name: m.name,
      version: m.version,
      inferenceCount: Number(m.inferenceCount),
      executionCount: Number(m.executionCount),
    } as ModelStatsSnapshot;
    for (const [key] of DURATION_KEYS) {
      const d = inf?.[key];
      snap[key] = { count: Number(d?.count ?? 0n), ns: Number(d?.ns ?? 0n) };
    }
    return snap;
  });
}
