/**
 * gRPC InferClient over @grpc/grpc-js: K channels (each with its own subchannel pool, so K real HTTP/2
 * connections), pre-encoded ModelInferRequest bytes, unary `ModelInfer` or one bidi `ModelStreamInfer`
 * stream per channel. Failures resolve as outcomes, never as rejections.
 *
 * Hot path: calls go straight to the channel's `createCall` (grpc-js's public Channel interface, the layer
 * under its Client and interceptors) with the prepared bytes and a listener object, so no per-call Client
 * argument checking, interceptor chain, serializer, call EventEmitter or captured caller stack (the Client's
 * `new Error()` per call). Responses arrive as bytes and are not decoded: only their size is reported, and a
 * streamed response is scanned for `error_message` alone (with `keepResponses` on, a successful one is also
 * copied once into the outcome, for the profile export, after its end time is taken). No deadline (so no timer) unless a timeout is set.
 * Measured with `npm run bench:client` (bench-results/client-identity.md).
 */

import { toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';
import type { Clock, TimerHandle } from '../protocol/clock.ts';
import { ModelInferRequestSchema } from '../protocol/gen/grpc_service_pb.ts';
import { wireToGrpcRequest } from '../protocol/grpc-infer-codec.ts';
import { asBuffer, preencodedModelInfer, preencodedModelStreamInfer } from '../protocol/grpc-service.ts';
import { msToNs } from '../protocol/units.ts';
import type { ClientOptions, InferClient, InferOutcome, PreparedRequest, RequestSpec } from './client.ts';
import { ownedCopy } from './kept-response.ts';
import { grpcTarget } from './server-url.ts';
import { loadTlsMaterial } from './tls-files.ts';

interface GrpcPrepared extends PreparedRequest {
  readonly bytes: Buffer;
}

/** A call on a channel (grpc-js's internal Call, reached through the public Channel interface). */
type ChannelCall = ReturnType<grpc.ChannelInterface['createCall']>;

/** Write context of every message: no flags, no callback. */
const NO_WRITE_CONTEXT = {};

/** Channel options shared by the infer client and the server API client. */
export function grpcChannelOptions(options: Pick<ClientOptions, 'grpcCompression'>): grpc.ChannelOptions {
  const compression = options.grpcCompression ?? 'none';
  return {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    // No channelz bookkeeping (per-call trackers and closures); nothing here serves channelz.
    'grpc.enable_channelz': 0,
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

/** A bidi stream while it is open, with the messages waiting to be written to it. */
interface OpenStream {
  call: ChannelCall;
  queue: Buffer[];
  writing: boolean;
  /** Write context of its messages: the callback writes the next one. */
  context: { callback: () => void };
}

/** The message of a failed status: its details, or "<code> <NAME>" when the server sent none. */
function statusMessage(status: grpc.StatusObject): string {
  return status.details || `${status.code} ${grpc.status[status.code] ?? 'UNKNOWN'}`;
}

/**
 * One unary ModelInfer call, and its own listener: the three callbacks are methods of this one object, so a
 * call costs us this object and its promise (the rest is grpc-js's call chain).
 */
class UnaryCall implements grpc.InterceptingListener {
  private responseStartNs = 0;
  private responseBytes = -1;
  private message: Buffer | undefined;
  private done = false;

  constructor(
    private readonly clock: Clock,
    private readonly sendStartNs: number,
    /** Keep the response bytes in the outcome (keepResponses). */
    private readonly keep: boolean,
    private readonly resolve: (outcome: InferOutcome) => void,
  ) {}

  onReceiveMetadata(): void {
    this.responseStartNs = this.clock.nowNs();
  }

  onReceiveMessage(message: Buffer): void {
    this.responseBytes = message.byteLength;
    if (this.keep) this.message = message;
  }

  onReceiveStatus(status: grpc.StatusObject): void {
    if (this.done) return;
    this.done = true;
    const endNs = this.clock.nowNs();
    const { sendStartNs } = this;
    const responseStartNs = this.responseStartNs || endNs;
    const responseBytes = Math.max(0, this.responseBytes);
    if (status.code === grpc.status.OK && this.responseBytes >= 0) {
      const outcome: InferOutcome = {
        ok: true,
        sendStartNs,
        sendEndNs: sendStartNs,
        responseStartNs,
        endNs,
        responseBytes,
      };
      // grpc-js's message may sit in a shared pool: the kept copy owns its buffer.
      if (this.message) outcome.response = { encoding: 'grpc', bytes: ownedCopy(this.message) };
      this.resolve(outcome);
      return;
    }
    const noMessage = status.code === grpc.status.OK;
    this.resolve({
      ok: false,
      errorKind: grpcErrorKind(noMessage ? grpc.status.UNIMPLEMENTED : status.code),
      errorMessage: noMessage ? 'No message received' : statusMessage(status),
      sendStartNs,
      sendEndNs: sendStartNs,
      responseStartNs,
      endNs,
      responseBytes,
    });
  }
}

/**
 * One bidi stream. Responses are matched to requests FIFO: Triton answers a non-decoupled stream strictly
 * in request order (its stream context writes only the front request's response), so no id needs to be
 * re-encoded into the fixed prepared bytes. A timed-out request keeps its FIFO slot (its late response is
 * dropped) so later responses stay aligned. Decoupled models (0..n responses per request) are not supported.
 */
class InferStream implements grpc.InterceptingListener {
  private open: OpenStream | undefined;
  private readonly pending: PendingStreamRequest[] = [];

  constructor(
    private readonly channel: grpc.ChannelInterface,
    private readonly metadata: grpc.Metadata,
    private readonly clock: Clock,
    /** The client's keepResponses switch. */
    private readonly keeping: { on: boolean },
  ) {}

  private start(): OpenStream {
    const call = this.channel.createCall(preencodedModelStreamInfer.path, Infinity, null, null, null);
    const stream: OpenStream = { call, queue: [], writing: false, context: { callback: () => undefined } };
    // grpc-js holds one message while the call is being set up: write the next only when the last is taken.
    stream.context.callback = () => {
      const bytes = stream.queue.shift();
      if (bytes && this.open === stream) call.sendMessageWithContext(stream.context, bytes);
      else stream.writing = false;
    };
    call.start(this.metadata, this);
    call.startRead();
    return stream;
  }

  send(bytes: Buffer, timeoutMs: number): Promise<InferOutcome> {
    this.open ??= this.start();
    const stream = this.open;
    return new Promise((resolve) => {
      const entry: PendingStreamRequest = { sendStartNs: this.clock.nowNs(), settled: false, resolve };
      if (timeoutMs > 0) {
        entry.timer = this.clock.setTimer(() => {
          this.settle(entry, 0, 'timeout', `no response within ${timeoutMs} ms`);
        }, msToNs(timeoutMs));
      }
      this.pending.push(entry);
      if (stream.writing) stream.queue.push(bytes);
      else {
        stream.writing = true;
        stream.call.sendMessageWithContext(stream.context, bytes);
      }
    });
  }

  /** Resolves a request once (a timed-out one may still get its late response, or a stream failure). */
  private settle(
    entry: PendingStreamRequest,
    bytes: number,
    errorKind?: string,
    errorMessage?: string,
    message?: Buffer,
  ): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.timer?.cancel();
    const now = this.clock.nowNs();
    const { sendStartNs } = entry;
    if (errorKind === undefined) {
      const outcome: InferOutcome = {
        ok: true,
        sendStartNs,
        sendEndNs: sendStartNs,
        responseStartNs: now,
        endNs: now,
        responseBytes: bytes,
      };
      if (message && this.keeping.on) {
        outcome.response = { encoding: 'grpc-stream', bytes: ownedCopy(message) };
      }
      entry.resolve(outcome);
      return;
    }
    entry.resolve({
      ok: false,
      errorKind,
      errorMessage,
      sendStartNs,
      sendEndNs: sendStartNs,
      responseStartNs: now,
      endNs: now,
      responseBytes: bytes,
    });
  }

  onReceiveMetadata(): void {}

  /** A response (grpc-js pauses the stream after each message: ask for the next one). */
  onReceiveMessage(bytes: Buffer): void {
    this.open?.call.startRead();
    const entry = this.pending.shift();
    if (!entry) return;
    const error = streamErrorMessage(bytes);
    if (error) this.settle(entry, bytes.byteLength, 'stream:error', error);
    else this.settle(entry, bytes.byteLength, undefined, undefined, bytes);
  }

  /** The stream ended: an OK status means the server closed it while requests may still be waiting. */
  onReceiveStatus(status: grpc.StatusObject): void {
    if (!this.open) return;
    this.open = undefined;
    if (status.code === grpc.status.OK)
      this.failAll('grpc:CANCELLED', 'the server ended the inference stream');
    else this.failAll(grpcErrorKind(status.code), statusMessage(status));
  }

  private failAll(kind: string, message: string): void {
    for (const entry of this.pending.splice(0)) this.settle(entry, 0, kind, message);
  }

  /** Ends the stream; requests still waiting resolve as transport:CLIENT_CLOSED (never hang). */
  close(): void {
    const call = this.open?.call;
    this.open = undefined;
    if (call) {
      call.halfClose();
      call.cancelWithStatus(grpc.status.CANCELLED, 'the client was closed');
    }
    this.failAll('transport:CLIENT_CLOSED', 'the client was closed');
  }
}

/** Creates the gRPC InferClient (`--streaming` → `options.streaming`). */
export function createGrpcClient(options: ClientOptions): InferClient {
  const { address } = grpcTarget(options.url);
  const credentials = grpcCredentials(options);
  const channelOptions = grpcChannelOptions(options);
  const clock = options.clock;
  /** One Metadata for every call: grpc-js clones it per call before its filters touch it. */
  const metadata = grpcMetadata(options.headers);
  const channels: grpc.ChannelInterface[] = Array.from(
    { length: Math.max(1, options.connections) },
    () => new grpc.Channel(address, credentials, channelOptions),
  );
  /** keepResponses: successful outcomes carry their response bytes. */
  const keeping = { on: false };
  const streams = options.streaming
    ? channels.map((ch) => new InferStream(ch, metadata, clock, keeping))
    : [];
  const unaryPath = preencodedModelInfer.path;
  let next = 0;

  function unary(channel: grpc.ChannelInterface, bytes: Buffer, timeoutMs: number): Promise<InferOutcome> {
    return new Promise((resolve) => {
      const listener = new UnaryCall(clock, clock.nowNs(), keeping.on, resolve);
      const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
      const call = channel.createCall(unaryPath, deadline, null, null, null);
      call.start(metadata, listener);
      call.sendMessageWithContext(NO_WRITE_CONTEXT, bytes);
      call.halfClose();
      call.startRead();
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
      next = (next + 1) % channels.length;
      if (options.streaming) return (streams[i] as InferStream).send(bytes, timeoutMs);
      return unary(channels[i] as grpc.ChannelInterface, bytes, timeoutMs);
    },
    keepResponses(on: boolean): void {
      keeping.on = on;
    },
    async close(): Promise<void> {
      for (const s of streams) s.close();
      for (const c of channels) c.close();
    },
  };
}
