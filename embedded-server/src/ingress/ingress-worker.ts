/**
 * An ingress thread: HTTP and gRPC transports (parsing, wire decoding, response encoding) for the
 * connections the main thread hands it, against a RemoteCore. It owns each connection's descriptor from
 * the moment it wraps it: the main thread keeps only an inert, unreferenced handle that never closes it.
 */
import { Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';
import { parentPort, workerData } from 'node:worker_threads';
import { systemClockFrom } from '../../../src/protocol/clock.ts';
import { onMessagesDrained } from '../runtime/drain-port.ts';
import { startGrpcServer } from '../transport/grpc-server.ts';
import { startHttpServer } from '../transport/http-server.ts';
import type { TransportLimits } from '../transport/transport-limits.ts';
import type { FromIngress, ToIngress } from './ingress-protocol.ts';
import { RemoteCore } from './remote-core.ts';

/** What the main thread gives an ingress thread at start. */
export interface IngressWorkerData {
  port: MessagePort;
  replyPort: MessagePort;
  flag: SharedArrayBuffer;
  /** The main thread's clock origin, so `receivedNs` is on the server's one clock. */
  clockOriginNs: bigint;
  host: string;
  maxInputBytes?: number;
  limits?: TransportLimits;
}

const init = workerData as IngressWorkerData;
const port = init.port;
const post = (m: FromIngress): void => port.postMessage(m);

async function main(): Promise<void> {
  const clock = systemClockFrom(init.clockOriginNs);
  const core = new RemoteCore(port, init.replyPort, init.flag);
  const http = await startHttpServer({
    core,
    host: init.host,
    port: 0,
    clock,
    listen: false,
    ...(init.maxInputBytes !== undefined ? { maxInputBytes: init.maxInputBytes } : {}),
    ...(init.limits ? { limits: init.limits } : {}),
  });
  const grpc = await startGrpcServer({
    core,
    host: init.host,
    port: 0,
    clock,
    listen: false,
    ...(init.limits ? { limits: init.limits } : {}),
  });
  onMessagesDrained<ToIngress>(port, (message) => {
    if (core.handle(message)) return;
    if (message.t === 'conn') {
      const socket = new Socket({ fd: message.fd, readable: true, writable: true });
      if (message.protocol === 'http') http.inject(socket);
      else grpc.inject(socket);
    } else if (message.t === 'close') {
      void Promise.all([http.close(message.graceful), grpc.close(message.graceful)]).then(
        () => {
          post({ t: 'closed' });
          port.close();
          init.replyPort.close();
        },
        () => post({ t: 'closed' }),
      );
    }
  });
  post({ t: 'ready' });
}

main().catch((e: unknown) => post({ t: 'start-error', message: e instanceof Error ? e.message : String(e) }));
void parentPort;
