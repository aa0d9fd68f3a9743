/**
 * A closed loop's concurrency change (pure): the plain and the sequence closed loops keep one slot per request
 * (or open sequence) in flight and resize the same way.
 */

/** A slot of a closed loop: it keeps sending while active. */
export interface LoopSlot {
  active: boolean;
}

/**
 * Resizes `slots` to `concurrency` active slots: the surplus ones are retired (marked inactive: each finishes
 * what it has in flight, then stops) and dropped from the list, the missing ones made by `open`. Returns the
 * new list and the slots opened, which the caller starts.
 */
export function resizeSlots<S extends LoopSlot>(
  slots: readonly S[],
  concurrency: number,
  open: () => S,
): { slots: S[]; opened: S[] } {
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be ≥ 1, got ${concurrency}`);
  const active = slots.filter((s) => s.active);
  for (const slot of active.slice(concurrency)) slot.active = false;
  const opened: S[] = [];
  for (let i = active.length; i < concurrency; i++) opened.push(open());
  return { slots: [...slots.filter((s) => s.active), ...opened], opened };
}
