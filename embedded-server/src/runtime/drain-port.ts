/**
 * Handles a port's messages in bursts: on the first message event, the rest already queued are taken with
 * `receiveMessageOnPort`, which skips Node's per-message event dispatch (an Event object and a listener
 * walk each). Order is kept; a handler that throws does not lose the messages after it (they stay queued
 * for the next event).
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';

/** Most messages handled per event, so one busy port cannot hold the thread's event loop for long. */
export const DRAIN_LIMIT = 256;

export function onMessagesDrained<T>(port: MessagePort, handle: (message: T) => void): void {
  port.on('message', (first: T) => {
    handle(first);
    for (let i = 1; i < DRAIN_LIMIT; i++) {
      const next = receiveMessageOnPort(port);
      if (!next) return;
      handle(next.message as T);
    }
  });
}
