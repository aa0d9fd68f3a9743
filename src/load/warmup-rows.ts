/**
 * The warm-up of a sharded level: the `size` earliest completions by event time, whichever shard's batch
 * brought them and in whatever order the batches arrived. Shards post in batches, so a completion that ended
 * before the warm-up's last one can arrive after it; it then joins the warm-up and pushes the latest one out
 * (into the first window). The warm-up is thus exactly `size` completions and the first window holds every
 * completion after them — no completion inside the window's span is discarded and none before it is counted.
 */

/** One held completion: its own copy of the event row, its error kind (failed) and its kept response bytes. */
export interface HeldRow {
  timeNs: number;
  row: Float64Array;
  kind: string | undefined;
  bytes: Uint8Array | undefined;
}

export class WarmupRows {
  /** A max-heap by `timeNs`: the root is the latest completion of the warm-up. */
  private readonly heap: HeldRow[] = [];

  constructor(readonly size: number) {}

  /** The warm-up holds its `size` completions. */
  get full(): boolean {
    return this.heap.length >= this.size;
  }

  /** The latest completion time held (−Infinity when empty): the first window starts there. */
  get latestNs(): number {
    return this.heap[0]?.timeNs ?? Number.NEGATIVE_INFINITY;
  }

  /** Holds `row`; once more than `size` are held, returns the latest one, which leaves the warm-up. */
  add(row: HeldRow): HeldRow | undefined {
    if (this.size === 0) return row;
    if (this.full && row.timeNs >= this.latestNs) return row;
    this.heap.push(row);
    this.siftUp(this.heap.length - 1);
    return this.heap.length > this.size ? this.popLatest() : undefined;
  }

  private popLatest(): HeldRow {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftUp(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.heap[parent]!.timeNs >= this.heap[i]!.timeNs) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < this.heap.length && this.heap[left]!.timeNs > this.heap[largest]!.timeNs) largest = left;
      if (right < this.heap.length && this.heap[right]!.timeNs > this.heap[largest]!.timeNs) largest = right;
      if (largest === i) return;
      this.swap(i, largest);
      i = largest;
    }
  }

  private swap(a: number, b: number): void {
    const t = this.heap[a]!;
    this.heap[a] = this.heap[b]!;
    this.heap[b] = t;
  }
}
