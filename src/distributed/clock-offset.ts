/**
 * A shard's clock offset from a reference clock, from HTTP `Date` headers (pure). A `Date` header has whole
 * seconds, but each probe still bounds the offset: the reference read D (its clock in [D, D + 1 s)) at some
 * instant between the local send t0 and receive t1, so offset = reference − local lies in
 * [D − t1, D + 1000 − t0]. Intersecting many probes taken at different phases of the second narrows the
 * interval to about the round trip plus the probe spacing (the htpdate method). Also the skew rule: an offset
 * (or an uncertainty) above a tenth of a window is a warning, since windows of different shards would then
 * not line up to within 10 %.
 */

export interface DateProbe {
  /** Local wall clock (epoch ms) just before sending and just after the response arrived. */
  sendWallMs: number;
  receiveWallMs: number;
  /** The `Date` header, parsed (epoch ms, whole seconds). */
  dateMs: number;
}

export interface ClockOffset {
  /** Reference − local (ms): add it to the local wall clock to read the reference's. */
  offsetMs: number;
  /** Half the width of the interval the probes leave (ms). */
  uncertaintyMs: number;
  /** Where the reference clock was read ('none' = not measured, offset taken as 0). */
  source: string;
  probes: number;
}

/** The offset interval all probes allow; undefined when there are none or they contradict each other. */
export function offsetFromDateProbes(
  probes: readonly DateProbe[],
): { offsetMs: number; uncertaintyMs: number } | undefined {
  if (probes.length === 0) return undefined;
  let low = Number.NEGATIVE_INFINITY;
  let high = Number.POSITIVE_INFINITY;
  for (const p of probes) {
    low = Math.max(low, p.dateMs - p.receiveWallMs);
    high = Math.min(high, p.dateMs + 1000 - p.sendWallMs);
  }
  // Probes that contradict each other (a clock step during the probing) leave an empty interval.
  if (!(low <= high)) return undefined;
  return { offsetMs: (low + high) / 2, uncertaintyMs: (high - low) / 2 };
}

/** Local send times (epoch ms, relative to `firstMs`) for `count` probes spread evenly over one second. */
export function spreadProbeTimes(firstMs: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => firstMs + Math.round((k * 1000) / count));
}

/**
 * Send times for a second round that lands around the reference's next second boundary as the first round
 * estimates it: `count` probes spaced `stepMs` apart, centred on it (times after `notBeforeMs`).
 */
export function boundaryProbeTimes(
  estimate: { offsetMs: number; uncertaintyMs: number },
  notBeforeMs: number,
  count: number,
): number[] {
  // Local time at which the reference clock turns a second: local = reference − offset.
  const referenceNow = notBeforeMs + estimate.offsetMs;
  const nextBoundaryLocal =
    Math.ceil((referenceNow + estimate.uncertaintyMs + 50) / 1000) * 1000 - estimate.offsetMs;
  const stepMs = Math.max(1, (2 * estimate.uncertaintyMs) / count);
  return Array.from({ length: count }, (_, k) => nextBoundaryLocal - estimate.uncertaintyMs + k * stepMs).map(
    (t) => (t < notBeforeMs ? t + 1000 : t),
  );
}

/** Warnings when a shard's clock is off (or unknown) by more than a tenth of a window. */
export function clockSkewWarnings(offset: ClockOffset, windowMs: number, shardIndex: number): string[] {
  const limitMs = windowMs / 10;
  const warnings: string[] = [];
  if (offset.source !== 'none' && Math.abs(offset.offsetMs) > limitMs) {
    warnings.push(
      `Shard ${shardIndex}: this host's clock is ${offset.offsetMs.toFixed(0)} ms off ${offset.source} (more than a tenth of the ${windowMs} ms window); the shard aligns its windows on that clock, but check NTP on the generator hosts.`,
    );
  }
  if (offset.source !== 'none' && offset.uncertaintyMs > limitMs) {
    warnings.push(
      `Shard ${shardIndex}: the clock offset against ${offset.source} is known only to ±${offset.uncertaintyMs.toFixed(0)} ms (more than a tenth of the ${windowMs} ms window): windows of different shards may not line up.`,
    );
  }
  return warnings;
}

/** At merge: the spread of the shards' window starts on the reference clock, warned above a tenth of a window. */
export function alignmentWarning(startsMs: readonly number[], windowMs: number): string | undefined {
  if (startsMs.length < 2) return undefined;
  const spreadMs = Math.max(...startsMs) - Math.min(...startsMs);
  if (spreadMs <= windowMs / 10) return undefined;
  return `The shards' windows started up to ${spreadMs.toFixed(0)} ms apart (more than a tenth of the ${windowMs} ms window): merged windows mix slightly different intervals.`;
}
