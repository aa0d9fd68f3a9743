/**
 * The dynamic batcher's queue policies (`dynamic_batching.priority_levels`, `default_priority_level`,
 * `default_queue_policy`, `priority_queue_policy`; Triton `core:src/scheduler_utils.cc`), as pure functions.
 *
 * - Levels are `1..priority_levels`, level 1 served first; `priority_levels: 0` is one queue. A request
 *   priority of 0 or above the number of levels maps to `default_priority_level`. Levels are uint64 in the
 *   config (up to 2^64−1): they are compared as bigint and only levels that hold requests ever exist.
 * - A level's policy is `priority_queue_policy[level]`, else `default_queue_policy`.
 * - Timeout = `default_timeout_microseconds`, lowered to the request's own `timeout` only when the policy
 *   has `allow_timeout_override`, the request value is non-zero and smaller than the default. A default of
 *   0 ("no timeout") can therefore never be overridden — Triton's [QUIRK], kept for compatibility.
 */
import type { ModelDynamicBatching, ModelQueuePolicy } from '../../../src/protocol/gen/model_config_pb.ts';
import { ModelQueuePolicy_TimeoutAction } from '../../../src/protocol/gen/model_config_pb.ts';
import { NS_PER_US } from '../../../src/protocol/units.ts';

/** A level's policy with numbers in scheduler units (0 = none/unbounded). */
export interface LevelPolicy {
  readonly timeoutAction: 'REJECT' | 'DELAY';
  readonly defaultTimeoutUs: number;
  readonly allowTimeoutOverride: boolean;
  readonly maxQueueSize: number;
}

const NO_POLICY: LevelPolicy = {
  timeoutAction: 'REJECT',
  defaultTimeoutUs: 0,
  allowTimeoutOverride: false,
  maxQueueSize: 0,
};

function toLevelPolicy(p: ModelQueuePolicy | undefined): LevelPolicy {
  if (!p) return NO_POLICY;
  return {
    timeoutAction: p.timeoutAction === ModelQueuePolicy_TimeoutAction.DELAY ? 'DELAY' : 'REJECT',
    defaultTimeoutUs: Number(p.defaultTimeoutMicroseconds),
    allowTimeoutOverride: p.allowTimeoutOverride,
    maxQueueSize: p.maxQueueSize,
  };
}

/** Resolved policies of one model's dynamic batcher. */
export interface QueuePolicies {
  /** The level a request of `priority` waits in (a number; levels beyond 2^53 lose precision, as priorities do). */
  levelOf(priority: number): number;
  policyOf(level: number): LevelPolicy;
  /**
   * Triton's prefetch rule: the batcher may queue payloads ahead of a free instance only with a single
   * priority level and a default policy with no timeout, no override and no `max_queue_size`.
   */
  readonly supportsPrefetch: boolean;
  /** Whether any level can time a request out (lets the queue skip deadline scans when none can). */
  readonly hasTimeouts: boolean;
}

export function resolveQueuePolicies(batching: ModelDynamicBatching | undefined): QueuePolicies {
  const levels = batching?.priorityLevels ?? 0n;
  const defaultLevel = levels === 0n ? 1 : Number(batching?.defaultPriorityLevel ?? 0n);
  const defaultPolicy = toLevelPolicy(batching?.defaultQueuePolicy);
  const byLevel = new Map<number, LevelPolicy>();
  for (const [key, policy] of Object.entries(batching?.priorityQueuePolicy ?? {})) {
    byLevel.set(Number(key), toLevelPolicy(policy));
  }
  return {
    levelOf(priority: number): number {
      if (levels === 0n) return 1;
      if (priority <= 0 || !Number.isFinite(priority) || BigInt(Math.trunc(priority)) > levels)
        return defaultLevel;
      return Math.trunc(priority);
    },
    policyOf(level: number): LevelPolicy {
      return (levels === 0n ? undefined : byLevel.get(level)) ?? defaultPolicy;
    },
    supportsPrefetch:
      levels === 0n &&
      defaultPolicy.defaultTimeoutUs === 0 &&
      !defaultPolicy.allowTimeoutOverride &&
      defaultPolicy.maxQueueSize === 0,
    hasTimeouts:
      defaultPolicy.defaultTimeoutUs > 0 || [...byLevel.values()].some((p) => p.defaultTimeoutUs > 0),
  };
}

/** The queue timeout of a request in µs (0 = none), per the override rule above. */
export function effectiveTimeoutUs(policy: LevelPolicy, requestTimeoutUs: number): number {
  if (
    policy.allowTimeoutOverride &&
    requestTimeoutUs > 0 &&
    policy.defaultTimeoutUs > 0 &&
    requestTimeoutUs < policy.defaultTimeoutUs
  ) {
    return requestTimeoutUs;
  }
  return policy.defaultTimeoutUs;
}

/** Deadline in clock ns for a request enqueued at `enqueueNs` (0 = never expires). */
export function deadlineNs(enqueueNs: number, timeoutUs: number): number {
  return timeoutUs > 0 ? enqueueNs + timeoutUs * NS_PER_US : 0;
}
