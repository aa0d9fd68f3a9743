/**
 * gRPC InferClient over @grpc/grpc-js: K channels (each with its own subchannel pool, so K real HTTP/2
 * connections), pre-encoded ModelInferRequest bytes sent through an identity serializer, unary `ModelInfer`
 * or one bidi `ModelStreamInfer` stream per channel. Failures resolve as outcomes, never as rejections.
 */

import { toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';
import type { Clock, TimerHandle } from '../protocol/clock.ts';
import { ModelInferRequestSchema } from '../protocol/gen/grpc_service_pb.ts';
import { wireToGrpcRequest } from '../protocol/grpc-infer-codec.ts';
import { asBuffer, preencodedModelInfer, preencodedModelStreamInfer } from '../protocol/grpc-service.ts';
import type { ClientOptions, InferClient, InferOutcome, PreparedRequest, RequestSpec } from './client.ts';
import { grpcTarget } from './server-url.ts';
import { loadTlsMaterial } from './tls-files.ts';

interface GrpcPrepared extends PreparedRequest {
  readonly bytes: Buffer;
}

/** Channel options shared by the infer client and the server API client. */
export function grpcChannelOptions(options: Pick<ClientOptions, 'grpcCompression'>): grpc.ChannelOptions {
  const compression = options.grpcCompression ?? 'none';
  return {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    ...(compression === 'none'
      ? {}
      : { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms[compression] }),
  };
}

/** Channel credentials from `options.tls` (`--ssl-grpc-*`); insecure when TLS is off and the URL is not grpcs/https. */
export function grpcCredentials(options: Pick<ClientOptions, 'tls' | 'url'>): grpc.ChannelCredentials {
  const tls = loadTlsMaterial(
    options.tls?.enabled ? options.tls : grpcTarget(options.url).secure ? { enabled: true } : undefined,
  );
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(
    tls.ca ?? null,
    tls.key ?? null,
    tls.cert ?? null,
    tls.verifyHost ? undefined : { checkServerIdentity: () => undefined },
  );
}

/** `-H` headers as gRPC metadata (perf_analyzer sends them on every call). */
export function grpcMetadata(headers: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.add(k.toLowerCase(), v);
  return md;
}

/** "grpc:UNAVAILABLE", or "timeout" for an exceeded deadline. */
export function grpcErrorKind(code: number): string {
  if (code === grpc.status.DEADLINE_EXCEEDED) return 'timeout';
  return `grpc:${grpc.status[code] ?? code}`;
}

/** Reads `error_message` (field 1) of a ModelStreamInferResponse without decoding the tensors. */
export function streamErrorMessage(bytes: Uint8Array): string {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) return reader.string();
    reader.skip(wireType);
  }
  return '';
}

interface PendingStreamRequest {
  sendStartNs: number;
  settled: boolean;
  timer?: TimerHandle;
  resolve: (outcome: InferOutcome) => void;
}

/**
 * One bidi stream. Responses are matched to requests FIFO: Triton answers a non-decoupled stream strictly
 * in request order (its stream context writes only the front request's response), so no id needs to be
 * re-encoded into the fixed prepared bytes. A timed-out request keeps its FIFO slot (its late response is
 * dropped) so later responses stay aligned. Decoupled models (0..n responses per request) are not supported.
 */
class InferStream {
  private call: grpc.ClientDuplexStream<Uint8Array, Buffer> | undefined;
  private readonly pending: PendingStreamRequest[] = [];

  constructor(
    private readonly client: grpc.Client,
    private readonly metadata: grpc.Metadata,
    private readonly clock: Clock,
  ) {}

  private open(): grpc.ClientDuplexStream<Uint8Array, Buffer> {
    const m = preencodedModelStreamInfer;
    const call = this.client.makeBidiStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      this.metadata,
    );
    call.on('data', (bytes: Buffer) => this.onResponse(bytes));
    call.on('error', (err: grpc.ServiceError) =>
      this.fail(call, grpcErrorKind(err.code), err.details || err.message),
    );
    call.on('end', () => this.fail(call, 'grpc:CANCELLED', 'the server ended the inference stream'));
    return call;
  }

  send(bytes: Buffer, timeoutMs: number): Promise<InferOutcome> {
    this.call ??= this.open();
    const call = this.call;
    return new Promise((resolve) => {
      const entry: PendingStreamRequest = { sendStartNs: this.clock.nowNs(), settled: false, resolve };
      if (timeoutMs > 0) {
        entry.timer = this.clock.setTimer(() => {
          this.settle(
            entry,
            { ok: false, errorKind: 'timeout', errorMessage: `no response within ${timeoutMs} ms` },
            0,
          );
        }, timeoutMs * 1e6);
      }
      this.pending.push(entry);
      call.write(bytes);
    });
  }

  private settle(
    entry: PendingStreamRequest,
    result: Pick<InferOutcome, 'ok' | 'errorKind' | 'errorMessage'>,
    bytes: number,
  ): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.timer?.cancel();
    const now = this.clock.nowNs();
    entry.resolve({
      ...result,
      sendStartNs: entry.sendStartNs,
      sendEndNs: entry.sendStartNs,
      responseStartNs: now,
      endNs: now,
      responseBytes: bytes,
    });
  }

  private onResponse(bytes: Buffer): void {
    const entry = this.pending.shift();
    if (!entry) return;
    const error = streamErrorMessage(bytes);
    this.settle(
      entry,
      error ? { ok: false, errorKind: 'stream:error', errorMessage: error } : { ok: true },
      bytes.byteLength,
    );
  }

  private fail(call: grpc.ClientDuplexStream<Uint8Array, Buffer>, kind: string, message: string): void {
    if (this.call !== call) return;
    this.call = undefined;
    for (const entry of this.pending.splice(0))
      this.settle(entry, { ok: false, errorKind: kind, errorMessage: message }, 0);
  }

  close(): void {
    const call = this.call;
    this.call = undefined;
    call?.end();
    call?.cancel();
  }
}

/** Creates the gRPC InferClient (`--streaming` → `options.streaming`). */
export function createGrpcClient(options: ClientOptions): InferClient {
  const { address } = grpcTarget(options.url);
  const credentials = grpcCredentials(options);
  const channelOptions = grpcChannelOptions(options);
  const clock = options.clock;
  const metadata = grpcMetadata(options.headers);
  const clients = Array.from(
    { length: Math.max(1, options.connections) },
    () => new grpc.Client(address, credentials, channelOptions),
  );
  const streams = options.streaming ? clients.map((c) => new InferStream(c, metadata, clock)) : [];
  let next = 0;

  function unary(client: grpc.Client, bytes: Buffer, timeoutMs: number): Promise<InferOutcome> {
    return new Promise((resolve) => {
      const sendStartNs = clock.nowNs();
      let responseStartNs = 0;
      const callOptions: grpc.CallOptions = timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
      const call = client.makeUnaryRequest(
        preencodedModelInfer.path,
        preencodedModelInfer.requestSerialize,
        preencodedModelInfer.responseDeserialize,
        bytes,
        metadata,
        callOptions,
        (err: grpc.ServiceError | null, response?: Buffer) => {
          const endNs = clock.nowNs();
          const base = {
            sendStartNs,
            sendEndNs: sendStartNs,
            responseStartNs: responseStartNs || endNs,
            endNs,
          };
          if (err) {
            resolve({
              ...base,
              ok: false,
              errorKind: grpcErrorKind(err.code),
              errorMessage: err.details || err.message,
              responseBytes: 0,
            });
          } else {
            resolve({ ...base, ok: true, responseBytes: response?.byteLength ?? 0 });
          }
        },
      );
      call.on('metadata', () => {
        responseStartNs = clock.nowNs();
      });
    });
  }

  return {
    protocol: 'grpc',
    prepare(spec: RequestSpec): PreparedRequest {
      const bytes = asBuffer(toBinary(ModelInferRequestSchema, wireToGrpcRequest(spec)));
      const prepared: GrpcPrepared = { spec, byteLength: bytes.byteLength, bytes };
      return prepared;
    },
    infer(request: PreparedRequest, timeoutMs: number): Promise<InferOutcome> {
      const { bytes } = request as GrpcPrepared;
      const i = next;
      next = (next + 1) % clients.length;
      if (options.streaming) return (streams[i] as InferStream).send(bytes, timeoutMs);
      return unary(clients[i] as grpc.Client, bytes, timeoutMs);
    },
    async close(): Promise<void> {
      for (const s of streams) s.close();
      for (const c of clients) c.close();
    },
  };
}
