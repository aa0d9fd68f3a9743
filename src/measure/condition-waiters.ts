/**
 * Promises that resolve once a condition holds, re-checked whenever the owner calls `wake()` (after each
 * recorded event). Shared by the single-thread window recorder and the shard windows, so both wait for
 * "N completions" or "N discarded" the same way; an AbortSignal ends a wait early.
 */
interface Waiter {
  done: () => boolean;
  resolve: () => void;
}

export class ConditionWaiters {
  private waiters: Waiter[] = [];

  /** Resolves when `done()` is true at a `wake()`, or at once if it already is or `signal` is aborted. */
  waitUntil(done: () => boolean, signal?: AbortSignal): Promise<void> {
    if (done() || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        done,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Resolves the waits whose condition now holds. */
  wake(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.done());
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** Resolves every wait now, whatever its condition. */
  releaseAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }
}
