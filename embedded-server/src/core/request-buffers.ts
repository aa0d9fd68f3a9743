/**
 * Request-owned buffers: ArrayBuffers a transport allocated for one request alone (an HTTP body). A model
 * instance may take such a buffer whole — transfer it to its worker thread — even where the request's
 * tensors are views into part of it (the binary extension puts a JSON header in front), which saves one
 * copy of every input on the main thread. Any other buffer is copied unless a tensor spans all of it.
 * Weakly held: marking keeps nothing alive.
 */
const owned = new WeakSet<ArrayBuffer>();

/** Marks `buffer` as holding one request's bytes and nothing else. */
export function markRequestOwned(buffer: ArrayBufferLike): void {
  if (buffer instanceof ArrayBuffer) owned.add(buffer);
}

export function isRequestOwned(buffer: ArrayBufferLike): boolean {
  return buffer instanceof ArrayBuffer && owned.has(buffer);
}
