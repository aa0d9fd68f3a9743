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

/** The compressed flag and the length in front of every gRPC message. */
const GRPC_FRAME_PREFIX_BYTES = 5;

/**
 * Marks the buffer of a decoded gRPC message as request-owned when it holds that message alone: grpc-js
 * (1.14) assembles every received message with `Buffer.concat`, which gives a message of 4 KiB or more an
 * ArrayBuffer of its own (smaller ones share Node's pool) holding the 5-byte frame prefix and the message.
 * The check is structural (the message ends where its buffer ends, nothing but the prefix before it, too
 * large for the pool), so bytes that share a buffer with anything else are never marked, whatever grpc-js does.
 * Saves the copy of every input an ingress thread would make to post it (measured: docs/benchmarks.md).
 */
export function markGrpcMessageOwned(message: Uint8Array): void {
  const buffer = message.buffer;
  if (
    buffer instanceof ArrayBuffer &&
    message.byteOffset <= GRPC_FRAME_PREFIX_BYTES &&
    message.byteOffset + message.byteLength === buffer.byteLength &&
    buffer.byteLength >= Buffer.poolSize >>> 1
  ) {
    owned.add(buffer);
  }
}
