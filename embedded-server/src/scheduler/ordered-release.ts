/**
 * `dynamic_batching { preserve_ordering: true }`: responses leave in the order their requests left the
 * batcher queue, even when several instances finish out of order; an early response is held until every
 * earlier one was released. The slot is reserved when the request is dispatched (the documented semantics),
 * not when its response arrives (Triton ≥ core b06d69b does the latter, which releases in completion order).
 * Every reserved slot must be completed, with a success or an error, or later responses wait forever.
 */
export class OrderedRelease {
  private nextSlot = 0;
  private nextToRelease = 0;
  private readonly ready = new Map<number, () => void>();

  /** Reserves the next position in the response order. */
  reserve(): number {
    return this.nextSlot++;
  }

  /** Hands in the delivery for `slot`; runs it and every consecutive later one that is ready. */
  complete(slot: number, deliver: () => void): void {
    this.ready.set(slot, deliver);
    for (let next = this.ready.get(this.nextToRelease); next; next = this.ready.get(this.nextToRelease)) {
      this.ready.delete(this.nextToRelease);
      this.nextToRelease += 1;
      next();
    }
  }

  /** Responses completed but held behind an earlier one. */
  heldCount(): number {
    return this.ready.size;
  }
}
