import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  GRPC_CONNECTION_WINDOW_BYTES,
  GRPC_STREAM_WINDOW_BYTES,
} from '../../../embedded-server/src/transport/grpc-flow-control.ts';
import {
  type GrpcServerHandle,
  startGrpcServer,
} from '../../../embedded-server/src/transport/grpc-server.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { FakeCore } from './fake-core.ts';

/** The windows a client sees: the stream window from SETTINGS, the connection window once the server's WINDOW_UPDATE is in. */
async function windowsSeen(
  connect: () => http2.ClientHttp2Session,
): Promise<{ stream: number; connection: number }> {
  const session = connect();
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    // The WINDOW_UPDATE follows the SETTINGS frame; a ping round trip makes sure it has been read.
    await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
    return {
      stream: session.remoteSettings.initialWindowSize ?? -1,
      connection: session.state.remoteWindowSize ?? -1,
    };
  } finally {
    session.destroy();
  }
}

describe('gRPC server HTTP/2 receive windows', () => {
  const core = new FakeCore();
  let listening: GrpcServerHandle;
  let injected: GrpcServerHandle;
  let relay: net.Server;

  before(async () => {
    listening = await startGrpcServer({ core, host: '127.0.0.1', port: 0, clock: new FakeClock(1) });
    // The ingress threads' path: no port of its own, connections injected.
    injected = await startGrpcServer({
      core,
      host: '127.0.0.1',
      port: 0,
      clock: new FakeClock(1),
      listen: false,
    });
    relay = net.createServer((socket) => injected.inject(socket));
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await listening.close(false);
    await injected.close(false);
    await new Promise((resolve) => relay.close(resolve));
  });

  it('advertises the wide stream and connection windows on a listening server (not Node’s 65,535 bytes)', async () => {
    const seen = await windowsSeen(() => http2.connect(`http://127.0.0.1:${listening.port}`));
    assert.deepEqual(seen, { stream: GRPC_STREAM_WINDOW_BYTES, connection: GRPC_CONNECTION_WINDOW_BYTES });
  });

  it('does the same on connections injected from elsewhere (ingress threads)', async () => {
    const port = (relay.address() as net.AddressInfo).port;
    const seen = await windowsSeen(() => http2.connect(`http://127.0.0.1:${port}`));
    assert.deepEqual(seen, { stream: GRPC_STREAM_WINDOW_BYTES, connection: GRPC_CONNECTION_WINDOW_BYTES });
  });
});
