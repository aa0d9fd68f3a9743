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
