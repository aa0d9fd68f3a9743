/**
 * HTTP/2 receive windows of the gRPC server. Node's defaults are 65,535 bytes per stream and per connection,
 * so a 110 KB ModelInfer request waits for a WINDOW_UPDATE round trip mid-message, and every stream of one
 * connection shares 64 KB in flight: at c=64 on one connection the client spends its time waiting for
 * window updates (measured: docs/benchmarks.md, 2026-12-04, "gRPC flow-control windows"). gRPC C++ (Triton)
 * grows its windows by BDP probing; grpc-js 1.14 has no option for the server's windows, so they are set here
 * through two of its internals, checked by test/server/transport/grpc-flow-control.test.ts against the pinned
 * grpc-js: the options every HTTP/2 server it creates starts from (`commonServerOptions`, for the stream
 * window in SETTINGS) and the method that creates them (`createHttp2Server`, hooked to widen each new
 * connection's window). Both the listening server and the ingress threads' connection injector go through it.
 *
 * The windows bound only the bytes between the socket and grpc-js's reads, which happen as data arrives
 * (flowing streams), not what a request may hold: `--grpc-max-message-size` still bounds a message.
 */
import type { Http2Server, Http2Session, ServerOptions } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** Initial stream window (SETTINGS_INITIAL_WINDOW_SIZE) the server advertises: a few MB requests in one go. */
export const GRPC_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Connection window: room for ~150 text_direction-sized requests in flight on one connection. */
export const GRPC_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/** The grpc-js Server internals this module relies on (private in its typings). */
interface GrpcServerInternals {
  commonServerOptions?: ServerOptions;
  createHttp2Server?: (credentials: unknown) => Http2Server;
}

/**
 * Widens the receive windows of every HTTP/2 connection `server` will accept; call before binding or creating
 * a connection injector. Returns false (and changes nothing) when this grpc-js lacks the internals, so a
 * different grpc-js degrades to Node's default windows instead of failing to start.
 */
export function widenReceiveWindows(server: Server): boolean {
  const internals = server as unknown as GrpcServerInternals;
  const common = internals.commonServerOptions;
  const create = internals.createHttp2Server;
  if (typeof common !== 'object' || common === null || typeof create !== 'function') return false;
  common.settings = { ...common.settings, initialWindowSize: GRPC_STREAM_WINDOW_BYTES };
  internals.createHttp2Server = function (this: Server, credentials: unknown): Http2Server {
    const http2Server = create.call(this, credentials);
    http2Server.on('session', (session: Http2Session) => {
      session.setLocalWindowSize(GRPC_CONNECTION_WINDOW_BYTES);
    });
    return http2Server;
  };
  return true;
}
