/**
 * Reused memory for a worker's batch inputs. Concatenating a batch into a fresh allocation every run costs
 * page faults and zero-filling (≈ 0.9 MB for 8 text_direction crops); an arena keeps one buffer and hands out
 * 8-byte-aligned views of it, valid until the next `reset()`. A run that needs more than the arena holds gets
 * fresh memory for the overflow, and the arena grows to that size at the next reset. Safe only because ORT
 * reads inputs during `run()` and keeps no reference afterwards; if the buffer leaves the thread (a transfer
 * detaches it), the next reset allocates a new one.
 */
export class ScratchArena {
  private buffer = new ArrayBuffer(0);
  private usedBytes = 0;

  /** Frees every view handed out since the last reset (their contents may be overwritten from now on). */
  reset(): void {
    if (this.usedBytes > this.buffer.byteLength) this.buffer = new ArrayBuffer(this.usedBytes);
    this.usedBytes = 0;
  }

  /** `bytes` bytes of uninitialised (stale) memory, 8-byte aligned. */
  take(bytes: number): Uint8Array {
    const start = (this.usedBytes + 7) & ~7;
    this.usedBytes = start + bytes;
    if (this.usedBytes <= this.buffer.byteLength) return new Uint8Array(this.buffer, start, bytes);
    return new Uint8Array(bytes);
  }
}
