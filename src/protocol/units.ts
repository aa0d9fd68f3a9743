/** The only place where time units are converted. Names say the unit; functions say both. */

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

export function nsToUs(ns: number): number {
  return ns / NS_PER_US;
}
export function nsToMs(ns: number): number {
  return ns / NS_PER_MS;
}
export function nsToS(ns: number): number {
  return ns / NS_PER_S;
}
export function usToNs(us: number): number {
  return us * NS_PER_US;
}
export function msToNs(ms: number): number {
  return ms * NS_PER_MS;
}
export function sToNs(s: number): number {
  return s * NS_PER_S;
}
/** perf_analyzer's integer microseconds: ns / 1000, truncated. */
export function nsToWholeUs(ns: number): number {
  return Math.trunc(ns / NS_PER_US);
}

export const US_PER_MS = 1_000;
export const US_PER_S = 1_000_000;
export const MS_PER_S = 1_000;

export function usToMs(us: number): number {
  return us / US_PER_MS;
}
export function msToUs(ms: number): number {
  return ms * US_PER_MS;
}
export function usToS(us: number): number {
  return us / US_PER_S;
}
export function msToS(ms: number): number {
  return ms / MS_PER_S;
}
export function sToMs(s: number): number {
  return s * MS_PER_S;
}

/** Mean of a `{count, ns}` duration in µs; undefined when nothing was counted. */
export function meanUs(stat: { count: number; ns: number } | undefined): number | undefined {
  return stat && stat.count > 0 ? nsToUs(stat.ns / stat.count) : undefined;
}
/** perf_analyzer's integer average of a `{count, ns}` duration: ns / (count × 1000), truncated; 0 when none. */
export function wholeMeanUs(stat: { count: number; ns: number }): number {
  return stat.count > 0 ? Math.trunc(stat.ns / (stat.count * NS_PER_US)) : 0;
}

/** Microseconds per latency unit a person writes in a limit (`20ms`, `1.5s`, `800us`, bare = µs). */
export const LATENCY_UNIT_US: Readonly<Record<string, number>> = { '': 1, us: 1, ms: US_PER_MS, s: US_PER_S };
