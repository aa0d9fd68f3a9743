/**
 * The floor of the gRPC client-overhead measure: one bare node:http2 session sending the same ModelInfer
 * request bytes (one length-prefixed message per HTTP/2 stream, headers built once) in a bare loop at
 * concurrency 1, reading only the response size and `grpc-status`: no grpc-js, no profiler, no windows. Its
 * "client latency − server request latency" is what Node's HTTP/2 (both ends), the loopback and the server's
 * gRPC handling outside its statistics cost on this machine: a unary gRPC client on Node cannot measure less.
 * A reference for the client benchmark, not a load generator.
 */
import http2 from 'node:http2';
import { type RawFloorRun, timeBareLoop } from './raw-http-floor.ts';

/** Runs unary calls back to back on one HTTP/2 connection for `seconds` (after `warmupSeconds`). */
export async function runRawGrpcFloor(
  address: string,
  path: string,
  messageBytes: Uint8Array,
  seconds: number,
  warmupSeconds: number,
  between?: { before(): Promise<void> },
): Promise<RawFloorRun> {
  const session = http2.connect(`http://${address}`);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const framed = Buffer.alloc(5 + messageBytes.byteLength);
  framed.writeUInt32BE(messageBytes.byteLength, 1);
  framed.set(messageBytes, 5);
  const headers = {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
  };
  /** Resolves with the call's grpc-status (-1 when none came). */
  const one = (): Promise<number> =>
    new Promise((resolve) => {
      let status = -1;
      const stream = session.request(headers);
      stream.on('response', (h) => {
        if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']); // trailers-only answer
      });
      stream.on('trailers', (t) => {
        status = Number(t['grpc-status']);
      });
      stream.on('data', () => undefined);
      stream.on('close', () => resolve(status));
      stream.end(framed);
    });
  try {
    return await timeBareLoop(one, (status) => status === 0, seconds, warmupSeconds, between);
  } finally {
    session.destroy();
  }
}
