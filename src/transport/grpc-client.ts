/**
 * gRPC InferClient. Unary `ModelInfer` calls go straight on node:http2 (grpc-unary-http2.ts): K connections,
 * each request framed (and compressed) once at prepare time, the response read as bytes and not decoded: only
 * its size is reported (with `keepResponses` on, a successful one is also copied once into the outcome, for
 * the profile export, after its end time is taken). `--streaming` uses one bidi `ModelStreamInfer` stream per
 * grpc-js channel: calls go straight to the channel's `createCall` (grpc-js's public Channel interface, the
 * layer under its Client and interceptors), a streamed response is scanned for `error_message` and its id
 * alone. Failures resolve as outcomes, never as rejections. No timer unless a timeout is set.
 * Measured with `npm run bench:client` (bench-results/client-identity.md).
 */

import { deflateSync, gzipSync } from 'node:zlib';
import { toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';
import { OptionError } from '../errors.ts';
import type { Clock, TimerHandle } from '../protocol/clock.ts';
import { ModelInferRequestSchema } from '../protocol/gen/grpc_service_pb.ts';
import { wireToGrpcRequest } from '../protocol/grpc-infer-codec.ts';
import { asBuffer, preencodedModelInfer, preencodedModelStreamInfer } from '../protocol/grpc-service.ts';
import { msToNs } from '../protocol/units.ts';
import type { ClientOptions, InferClient, InferOutcome, PreparedRequest, RequestSpec } from './client.ts';
import {
  CLIENT_WINDOW_BYTES,
  type FramedRequest,
  frameMessage,
  GrpcHttp2Connection,
  type Http2Target,
  unaryHeaders,
} from './grpc-unary-http2.ts';
import { ownedCopy } from './kept-response.ts';
import { grpcTarget } from './server-url.ts';
import { loadTlsMaterial, type TlsMaterial } from './tls-files.ts';

/** A streamed request: the message bytes (an id is appended per send). */
interface GrpcStreamPrepared extends PreparedRequest {
  readonly bytes: Buffer;
}

/** A unary request: its framed (and maybe compressed) message and the headers of every call. */
interface GrpcUnaryPrepared extends PreparedRequest, FramedRequest {}

/** A call on a channel (grpc-js's internal Call, reached through the public Channel interface). */
type ChannelCall = ReturnType<grpc.ChannelInterface['createCall']>;

/** Channel options shared by the infer client and the server API client. */
export function grpcChannelOptions(options: Pick<ClientOptions, 'grpcCompression'>): grpc.ChannelOptions {
  const compression = options.grpcCompression ?? 'none';
  return {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    // No channelz bookkeeping (per-call trackers and closures); nothing here serves channelz.
    'grpc.enable_channelz': 0,
    // The receive windows of the unary calls (grpc-unary-http2.ts), for streamed responses too: Node's
    // 65,535 bytes would make a large response wait for WINDOW_UPDATE round trips.
    'grpc-node.flow_control_window': CLIENT_WINDOW_BYTES,
    ...(compression === 'none'
      ? {}
      : { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms[compression] }),
  };
}

/** The `--ssl-grpc-*` files when TLS is on: by the flags, or by a grpcs:// or https:// URL. */
function grpcTlsMaterial(options: Pick<ClientOptions, 'tls' | 'url'>): TlsMaterial | undefined {
  return loadTlsMaterial(
    options.tls?.enabled ? options.tls : grpcTarget(options.url).secure ? { enabled: true } : undefined,
  );
}

/** Channel credentials from `options.tls` (`--ssl-grpc-*`); insecure when TLS is off and the URL is not grpcs/https. */
export function grpcCredentials(options: Pick<ClientOptions, 'tls' | 'url'>): grpc.ChannelCredentials {
  const tls = grpcTlsMaterial(options);
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(
    tls.ca ?? null,
    tls.key ?? null,
    tls.cert ?? null,
    // The same verification as the unary calls (grpcHttp2Target): the streams and the server API must not
    // refuse a server the infer calls accept, nor accept one they refuse.
    {
      rejectUnauthorized: tls.verifyPeer,
      ...(tls.verifyHost ? {} : { checkServerIdentity: () => undefined }),
    },
  );
}

/** `-H` headers as gRPC metadata (perf_analyzer sends them on every call). */
export function grpcMetadata(headers: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) {
    try {
      md.add(k.toLowerCase(), v);
    } catch (e) {
      // grpc-js's own check (keys: lower-case letters, digits, "-_."; values: printable ASCII).
      throw new OptionError(`-H '${k}' cannot be sent as gRPC metadata: ${(e as Error).message}`);
    }
  }
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
  id: string;
  sendStartNs: number;
  settled: boolean;
  timer?: TimerHandle;
  resolve: (outcome: InferOutcome) => void;
  /** Responses counted so far (the FINAL flag's empty response is not one). */
  responses: number;
  firstNs: number;
  lastNs: number;
  bytes: number;
  /** The last counted response (kept for the profile export). */
  last: Buffer | undefined;
}

/** What the stream reader needs of one ModelStreamInferResponse, read without decoding its tensors. */
export interface StreamResponseHead {
  errorMessage: string;
  id: string;
  /** `triton_final_response`; undefined when the server did not set it (one response per request). */
  final: boolean | undefined;
  /** Whether the response carries output tensors (an empty final response does not). */
  hasOutputs: boolean;
}

function readFinalFlag(reader: BinaryReader, end: number): { key: string; value: boolean | undefined } {
  let key = '';
  let value: boolean | undefined;
  while (reader.pos < end) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) key = reader.string();
    else if (field === 2 && wireType === WireType.LengthDelimited) {
      const paramEnd = reader.uint32() + reader.pos;
      while (reader.pos < paramEnd) {
        const [pf, pw] = reader.tag();
        if (pf === 1 && pw === WireType.Varint) value = reader.bool();
        else reader.skip(pw);
      }
    } else reader.skip(wireType);
  }
  return { key, value };
}

/**
 * Reads `error_message` (field 1) and, in `infer_response` (field 2), `id` (3), the `triton_final_response`
 * parameter (4) and whether any output (5) is present, skipping the tensor bytes.
 */
export function streamResponseHead(bytes: Uint8Array): StreamResponseHead {
  const head: StreamResponseHead = { errorMessage: '', id: '', final: undefined, hasOutputs: false };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) head.errorMessage = reader.string();
    else if (field === 2 && wireType === WireType.LengthDelimited) {
      const end = reader.uint32() + reader.pos;
      while (reader.pos < end) {
        const [f, w] = reader.tag();
        if (f === 3 && w === WireType.LengthDelimited) head.id = reader.string();
        else if (f === 4 && w === WireType.LengthDelimited) {
          const entryEnd = reader.uint32() + reader.pos;
          const { key, value } = readFinalFlag(reader, entryEnd);
          if (key === 'triton_final_response') head.final = value ?? false;
        } else if ((f === 5 || f === 6) && w === WireType.LengthDelimited) {
          head.hasOutputs = true;
          reader.skip(w);
        } else reader.skip(w);
      }
    } else reader.skip(wireType);
  }
  return head;
}

/** Protobuf bytes of `id: <id>` (ModelInferRequest field 3): appended to a prepared request, the last id wins. */
function idField(id: string): Buffer {
  const text = Buffer.from(id, 'utf8');
  return Buffer.concat([Buffer.of(0x1a, text.byteLength), text]);
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
 * One bidi stream. Each request is sent with an id of its own (appended to the fixed prepared bytes: the last
 * `id` field wins) and its responses are matched by the id they echo, so a decoupled model's 0..n responses per
 * request, in any order across requests, are counted. A request is complete at a response with
 * `triton_final_response: true`, or at any response that lacks the parameter (a server that sends one response
 * per request). Requests ask for the empty final response (`triton_enable_empty_final_response`, set at
 * prepare time) so that a decoupled request whose last response carried data still ends, as perf_analyzer
 * does. A timed-out request's late responses are dropped.
 */
class InferStream implements grpc.InterceptingListener {
  private open: OpenStream | undefined;
  private readonly pending = new Map<string, PendingStreamRequest>();
  private nextId = 0;

  constructor(
    private readonly channel: grpc.ChannelInterface,
    private readonly metadata: grpc.Metadata,
    private readonly clock: Clock,
    /** The client's keepResponses switch. */
    private readonly keeping: { on: boolean },
    /** Request ids of this stream start with it (unique per stream of one client). */
    private readonly prefix: string,
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

  send(prepared: Buffer, timeoutMs: number): Promise<InferOutcome> {
    this.open ??= this.start();
    const stream = this.open;
    const id = `${this.prefix}${this.nextId++}`;
    const bytes = Buffer.concat([prepared, idField(id)]);
    return new Promise((resolve) => {
      const entry: PendingStreamRequest = {
        id,
        sendStartNs: this.clock.nowNs(),
        settled: false,
        resolve,
        responses: 0,
        firstNs: 0,
        lastNs: 0,
        bytes: 0,
        last: undefined,
      };
      if (timeoutMs > 0) {
        entry.timer = this.clock.setTimer(() => {
          this.fail(entry, 'timeout', `no response within ${timeoutMs} ms`);
        }, msToNs(timeoutMs));
      }
      this.pending.set(id, entry);
      if (stream.writing) stream.queue.push(bytes);
      else {
        stream.writing = true;
        stream.call.sendMessageWithContext(stream.context, bytes);
      }
    });
  }

  /** The request is complete: its outcome from the responses counted (and the final flag's time). */
  private complete(entry: PendingStreamRequest, finalNs: number): void {
    if (entry.settled) return;
    entry.settled = true;
    this.pending.delete(entry.id);
    entry.timer?.cancel();
    const endNs = entry.responses > 0 ? entry.lastNs : finalNs;
    const firstNs = entry.responses > 0 ? entry.firstNs : finalNs;
    const outcome: InferOutcome = {
      ok: true,
      sendStartNs: entry.sendStartNs,
      sendEndNs: entry.sendStartNs,
      responseStartNs: firstNs,
      endNs,
      responseBytes: entry.bytes,
      responseCount: entry.responses,
      firstResponseNs: firstNs,
    };
    if (entry.last && this.keeping.on) {
      outcome.response = { encoding: 'grpc-stream', bytes: ownedCopy(entry.last) };
    }
    entry.resolve(outcome);
  }

  private fail(entry: PendingStreamRequest, errorKind: string, errorMessage: string, bytes = 0): void {
    if (entry.settled) return;
    entry.settled = true;
    this.pending.delete(entry.id);
    entry.timer?.cancel();
    const now = this.clock.nowNs();
    entry.resolve({
      ok: false,
      errorKind,
      errorMessage,
      sendStartNs: entry.sendStartNs,
      sendEndNs: entry.sendStartNs,
      responseStartNs: now,
      endNs: now,
      responseBytes: entry.bytes + bytes,
    });
  }

  onReceiveMetadata(): void {}

  /** A response (grpc-js pauses the stream after each message: ask for the next one). */
  onReceiveMessage(bytes: Buffer): void {
    this.open?.call.startRead();
    const now = this.clock.nowNs();
    const head = streamResponseHead(bytes);
    // A server that does not echo ids: the oldest request waiting is the one answered.
    const entry =
      this.pending.get(head.id) ?? (head.id === '' ? this.pending.values().next().value : undefined);
    if (!entry) return;
    if (head.errorMessage) {
      this.fail(entry, 'stream:error', head.errorMessage, bytes.byteLength);
      return;
    }
    const emptyFinal = head.final === true && !head.hasOutputs;
    if (!emptyFinal) {
      if (entry.responses === 0) entry.firstNs = now;
      entry.responses += 1;
      entry.lastNs = now;
      entry.bytes += bytes.byteLength;
      if (this.keeping.on) entry.last = bytes;
    }
    if (head.final !== false) this.complete(entry, now);
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
    for (const entry of [...this.pending.values()]) this.fail(entry, kind, message);
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

/** Where the unary calls connect (node:http2): the `-u` address, over TLS with the `--ssl-grpc-*` files. */
export function grpcHttp2Target(options: Pick<ClientOptions, 'tls' | 'url'>): Http2Target {
  const { address } = grpcTarget(options.url);
  const tls = grpcTlsMaterial(options);
  if (!tls) return { origin: `http://${address}` };
  return {
    origin: `https://${address}`,
    tls: {
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
      rejectUnauthorized: tls.verifyPeer,
      ...(tls.verifyHost ? {} : { checkServerIdentity: () => undefined }),
    },
  };
}

/** A request's message compressed as `--grpc-compression-algorithm` says (once, at prepare time). */
function compressed(message: Uint8Array, algorithm: 'none' | 'gzip' | 'deflate'): Uint8Array {
  if (algorithm === 'gzip') return gzipSync(message);
  if (algorithm === 'deflate') return deflateSync(message);
  return message;
}

/** "NOT_FOUND" for 5. */
function statusName(code: number): string {
  return grpc.status[code] ?? 'UNKNOWN';
}

/**
 * Creates the gRPC InferClient (`--streaming` → `options.streaming`): unary calls on node:http2
 * (grpc-unary-http2.ts), one connection per `options.connections`; streams on grpc-js channels.
 */
export function createGrpcClient(options: ClientOptions): InferClient {
  const clock = options.clock;
  const connectionCount = Math.max(1, options.connections);
  /** keepResponses: successful outcomes carry their response bytes. */
  const keeping = { on: false };
  const compression = options.grpcCompression ?? 'none';
  let next = 0;

  if (options.streaming) {
    const { address } = grpcTarget(options.url);
    const credentials = grpcCredentials(options);
    const channelOptions = grpcChannelOptions(options);
    /** One Metadata for every call: grpc-js clones it per call before its filters touch it. */
    const metadata = grpcMetadata(options.headers);
    const channels: grpc.ChannelInterface[] = Array.from(
      { length: connectionCount },
      () => new grpc.Channel(address, credentials, channelOptions),
    );
    const streams = channels.map((ch, i) => new InferStream(ch, metadata, clock, keeping, `ib${i}-`));
    return {
      protocol: 'grpc',
      prepare(spec: RequestSpec): PreparedRequest {
        // Ask for the FINAL flag's empty response: a decoupled request then always ends visibly.
        const wire = {
          ...spec,
          parameters: { ...spec.parameters, triton_enable_empty_final_response: true },
        };
        const bytes = asBuffer(toBinary(ModelInferRequestSchema, wireToGrpcRequest(wire)));
        const prepared: GrpcStreamPrepared = { spec, byteLength: bytes.byteLength, bytes };
        return prepared;
      },
      infer(request: PreparedRequest, timeoutMs: number): Promise<InferOutcome> {
        const stream = streams[next] as InferStream;
        next = (next + 1) % streams.length;
        return stream.send((request as GrpcStreamPrepared).bytes, timeoutMs);
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

  const target = grpcHttp2Target(options);
  // Validated as grpc-js validates metadata (lower-case keys, -bin values in base64), then sent as headers.
  const headers = unaryHeaders(
    preencodedModelInfer.path,
    grpcMetadata(options.headers).toHttp2Headers(),
    compression === 'none' ? 'identity' : compression,
  );
  const connections = Array.from(
    { length: connectionCount },
    () => new GrpcHttp2Connection(target, clock, grpcErrorKind, statusName),
  );
  return {
    protocol: 'grpc',
    prepare(spec: RequestSpec): PreparedRequest {
      const bytes = toBinary(ModelInferRequestSchema, wireToGrpcRequest(spec));
      const framed = frameMessage(compressed(bytes, compression), compression !== 'none');
      const prepared: GrpcUnaryPrepared = { spec, byteLength: bytes.byteLength, framed, headers };
      return prepared;
    },
    infer(request: PreparedRequest, timeoutMs: number): Promise<InferOutcome> {
      const connection = connections[next] as GrpcHttp2Connection;
      next = (next + 1) % connections.length;
      return connection.call(request as GrpcUnaryPrepared, timeoutMs, keeping.on);
    },
    keepResponses(on: boolean): void {
      keeping.on = on;
    },
    async close(): Promise<void> {
      for (const c of connections) c.close();
    },
  };
}
