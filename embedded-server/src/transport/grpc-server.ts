/**
 * The `inference.GRPCInferenceService` front of the reference server (reference §2) plus
 * `grpc.health.v1.Health/Check`. Messages are protobuf-es; the service definition comes from the shared
 * kernel. Streams (stream-responder.ts) answer in request order with in-band errors, as Triton does for
 * non-decoupled models; a decoupled model's responses go out as the model sends them.
 */

import type { Duplex } from 'node:stream';
import { create, fromJson, type JsonValue as ProtoJsonValue } from '@bufbuild/protobuf';
import {
  type handleBidiStreamingCall,
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerErrorResponse,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Clock } from '../../../src/protocol/clock.ts';
import {
  type ModelConfigRequest,
  type ModelConfigResponse,
  ModelConfigResponseSchema,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataRequest,
  type ModelMetadataResponse,
  ModelMetadataResponseSchema,
  type ModelReadyRequest,
  type ModelReadyResponse,
  ModelReadyResponseSchema,
  type ModelStatisticsRequest,
  type ModelStatisticsResponse,
  ModelStatisticsResponseSchema,
  type ModelStreamInferResponse,
  type RepositoryIndexRequest,
  type RepositoryIndexResponse,
  RepositoryIndexResponseSchema,
  type RepositoryModelLoadRequest,
  type RepositoryModelLoadResponse,
  RepositoryModelLoadResponseSchema,
  type RepositoryModelUnloadRequest,
  type RepositoryModelUnloadResponse,
  RepositoryModelUnloadResponseSchema,
  type ServerLiveResponse,
  ServerLiveResponseSchema,
  type ServerMetadataResponse,
  ServerMetadataResponseSchema,
  type ServerReadyResponse,
  ServerReadyResponseSchema,
} from '../../../src/protocol/gen/grpc_service_pb.ts';
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from '../../../src/protocol/gen/health_pb.ts';
import { grpcRequestToWire, wireToGrpcResponse } from '../../../src/protocol/grpc-infer-codec.ts';
import { healthServiceDefinition, inferenceServiceDefinition } from '../../../src/protocol/grpc-service.ts';
import { GrpcCode, InferenceError } from '../../../src/protocol/status.ts';
import type { InferenceCore, ModelState } from '../core/api.ts';
import { RequestAbort } from '../core/request-abort.ts';
import type { InferResponse } from '../core/types.ts';
import type { StageStamps, StageTraceRecorder } from '../stats/stage-trace.ts';
import { widenReceiveWindows } from './grpc-flow-control.ts';
import { asInferenceError, toInferRequest } from './infer-request-mapping.ts';
import {
  EMPTY_FINAL,
  emptyFinalWanted,
  StreamResponder,
  streamTolerantDefinition,
  UnparsableMessage,
} from './stream-responder.ts';
import { type TransportLimits, transportLimits } from './transport-limits.ts';

export interface GrpcServerOptions {
  core: InferenceCore;
  host: string;
  /** 0 = any free port. */
  port: number;
  clock: Clock;
  /** When given, every unary ModelInfer is stage-stamped and recorded here (benchmarks). */
  stageTrace?: StageTraceRecorder;
  /** False: bind no port; connections arrive through `inject` (ingress threads). Default true. */
  listen?: boolean;
  /** Message size (decompressed too), idle timeout, connection limit (injected connections). */
  limits?: Partial<TransportLimits>;
}

export interface GrpcServerHandle {
  port: number;
  /** Serves a connection accepted elsewhere (an ingress thread's sockets come from the main thread). */
  inject(socket: Duplex): void;
  /** graceful: refuse new RPCs and wait for open ones (streams included); otherwise cancel everything. */
  close(graceful: boolean): Promise<void>;
}

function grpcError(e: unknown): ServerErrorResponse {
  const err = asInferenceError(e);
  return Object.assign(new Error(err.message), {
    code: err.grpcStatus,
    details: err.message,
    metadata: new Metadata(),
  });
}

/** Triton refuses version strings that are not integers (grpc: GetModelVersionFromString). */
function checkedVersion(version: string): string {
  if (version !== '' && !/^[0-9]+$/.test(version)) {
    throw new InferenceError(
      'INVALID_ARG',
      `failed to get model version from specified version string '${version}' (details: stol), version should be an integral value > 0`,
    );
  }
  return version;
}

/** Wraps a (possibly async) function as a unary handler that maps thrown errors to gRPC statuses. */
function unary<Req, Res>(
  fn: (req: Req, signal: AbortSignal) => Res | Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const abort = new AbortController();
    call.once('cancelled', () => abort.abort());
    Promise.resolve()
      .then(() => fn(call.request, abort.signal))
      .then(
        (res) => callback(null, res),
        (e: unknown) => callback(grpcError(e)),
      );
  };
}

function unimplemented(rpc: string): handleUnaryCall<unknown, unknown> {
  return (_call, callback) =>
    callback({
      code: GrpcCode.UNIMPLEMENTED,
      details: `${rpc} is not supported by this server`,
      name: 'Error',
      message: rpc,
    });
}

function notExiting(core: InferenceCore): void {
  if (core.isExiting()) throw new InferenceError('UNAVAILABLE', 'Server exiting');
}

const STATE_NAMES: ReadonlySet<ModelState> = new Set([
  'UNKNOWN',
  'READY',
  'UNAVAILABLE',
  'LOADING',
  'UNLOADING',
]);

/** Starts the gRPC server; resolves once it is bound. Message sizes are unlimited (Triton: INT32_MAX). */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const { core, clock } = options;
  const limits = transportLimits(options.limits);
  // grpc-js checks the receive limit on the wire and again while inflating a compressed message
  // (RESOURCE_EXHAUSTED), so a small gzip message cannot inflate past it. Responses are not limited.
  const server = new Server({
    'grpc.max_receive_message_length': limits.grpcMaxMessageBytes,
    'grpc.max_send_message_length': -1,
    'grpc.max_connection_idle_ms': limits.idleTimeoutMs,
  });
  if (!widenReceiveWindows(server)) {
    process.emitWarning('this grpc-js version does not let the gRPC server widen its HTTP/2 receive windows');
  }

  /** Decodes, runs and encodes one request; `sink` (streams only) receives a decoupled model's responses. */
  const infer = async (
    req: ModelInferRequest,
    abort: RequestAbort,
    stamps?: StageStamps,
    sink?: (response: InferResponse) => void,
  ): Promise<ModelInferResponse> => {
    const version = checkedVersion(req.modelVersion);
    const wire = grpcRequestToWire(req);
    const request = toInferRequest(wire, {
      modelName: req.modelName,
      modelVersion: version,
      receivedNs: clock.nowNs(),
      abort,
    });
    request.endpoint = 'grpc';
    if (sink) request.responseSink = sink;
    if (!stamps) {
      const response = await core.infer(request);
      if (response.emptyFinal) return EMPTY_FINAL;
      return wireToGrpcResponse(response);
    }
    stamps.mark('decoded', request.receivedNs);
    request.stamps = stamps;
    const response = await core.infer(request);
    stamps.mark('responseReady', clock.nowNs());
    const encoded = wireToGrpcResponse(response);
    stamps.mark('encoded', clock.nowNs());
    return encoded;
  };

  const stageTrace = options.stageTrace;
  /** Unary ModelInfer; with stage tracing, the stamps end once grpc-js has serialised and written the response. */
  const modelInfer: handleUnaryCall<ModelInferRequest, ModelInferResponse> = (call, callback) => {
    const stamps = stageTrace?.begin(clock.nowNs());
    const abort = new RequestAbort();
    // grpc-js reports every call as 'cancelled' once its stream closes, answered or not: only a call still
    // running is aborted.
    let answered = false;
    call.once('cancelled', () => {
      if (!answered) abort.abort();
    });
    infer(call.request, abort, stamps).then(
      (res) => {
        answered = true;
        callback(null, res);
        if (stamps) {
          stamps.mark('written', clock.nowNs());
          stageTrace?.record(stamps);
        }
      },
      (e: unknown) => {
        answered = true;
        callback(grpcError(e));
      },
    );
  };

  const modelStreamInfer: handleBidiStreamingCall<
    ModelInferRequest | UnparsableMessage,
    ModelStreamInferResponse
  > = (call: ServerDuplexStream<ModelInferRequest | UnparsableMessage, ModelStreamInferResponse>) => {
    const abort = new RequestAbort();
    const stream = new StreamResponder(
      (response) => {
        if (!call.cancelled) call.write(response);
      },
      () => {
        if (!call.cancelled) call.end();
      },
    );
    call.on('data', (req: ModelInferRequest | UnparsableMessage) => {
      // A message that is not a ModelInferRequest is answered in-band like any failed request: the stream and
      // the responses already due on it go on (it used to abort the whole stream).
      if (req instanceof UnparsableMessage) {
        stream.failed(stream.open(), req.error, undefined);
        return;
      }
      const slot = stream.open();
      let emptyFinal: boolean;
      try {
        emptyFinal = emptyFinalWanted(req);
      } catch (e) {
        stream.failed(slot, asInferenceError(e), req);
        return;
      }
      const sink = (response: InferResponse): void => stream.partial(slot, wireToGrpcResponse(response));
      infer(req, abort, undefined, sink).then(
        (res) => stream.final(slot, res, emptyFinal, req),
        (e: unknown) => stream.failed(slot, asInferenceError(e), req),
      );
    });
    call.on('end', () => stream.clientEnded());
    call.on('cancelled', () => abort.abort());
    call.on('error', () => abort.abort());
  };

  const implementation: UntypedServiceImplementation = {
    ServerLive: unary((): ServerLiveResponse => {
      notExiting(core);
      return create(ServerLiveResponseSchema, { live: core.isLive() });
    }),
    ServerReady: unary((): ServerReadyResponse => {
      notExiting(core);
      return create(ServerReadyResponseSchema, { ready: core.isReady() });
    }),
    ModelReady: unary(
      (req: ModelReadyRequest): ModelReadyResponse =>
        create(ModelReadyResponseSchema, { ready: core.modelReady(req.name, checkedVersion(req.version)) }),
    ),
    ServerMetadata: unary(
      (): ServerMetadataResponse => create(ServerMetadataResponseSchema, core.serverMetadata()),
    ),
    ModelMetadata: unary((req: ModelMetadataRequest): ModelMetadataResponse => {
      const m = core.modelMetadata(req.name, checkedVersion(req.version));
      const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape.map(BigInt),
      });
      return create(ModelMetadataResponseSchema, {
        name: m.name,
        versions: m.versions,
        platform: m.platform,
        inputs: m.inputs.map(tensor),
        outputs: m.outputs.map(tensor),
      });
    }),
    ModelInfer: modelInfer,
    ModelStreamInfer: modelStreamInfer,
    ModelConfig: unary(
      (req: ModelConfigRequest): ModelConfigResponse =>
        create(ModelConfigResponseSchema, {
          config: core.modelConfig(req.name, checkedVersion(req.version)),
        }),
    ),
    ModelStatistics: unary((req: ModelStatisticsRequest): ModelStatisticsResponse => {
      const stats = core.modelStatistics(req.name, checkedVersion(req.version));
      return fromJson(
        ModelStatisticsResponseSchema,
        { model_stats: stats as unknown as ProtoJsonValue },
        {
          ignoreUnknownFields: true,
        },
      );
    }),
    RepositoryIndex: unary(
      (req: RepositoryIndexRequest): RepositoryIndexResponse =>
        create(RepositoryIndexResponseSchema, {
          models: core.repositoryIndex(req.ready).map((e) => ({
            name: e.name,
            version: e.version ?? '',
            state: e.state !== undefined && STATE_NAMES.has(e.state) ? e.state : '',
            reason: e.reason ?? '',
          })),
        }),
    ),
    RepositoryModelLoad: unary(
      async (req: RepositoryModelLoadRequest): Promise<RepositoryModelLoadResponse> => {
        if (req.repositoryName !== '') {
          throw new InferenceError('UNSUPPORTED', "'repository_name' specification is not supported");
        }
        for (const key of Object.keys(req.parameters)) {
          if (key.startsWith('file:')) {
            throw new InferenceError(
              'UNSUPPORTED',
              `model file override '${key}' is not supported by this server`,
            );
          }
        }
        const config = req.parameters.config;
        if (config !== undefined && config.parameterChoice.case !== 'stringParam') {
          throw new InferenceError(
            'INVALID_ARG',
            "invalid value type for 'config' parameter, expected string_param.",
          );
        }
        const configJson = config?.parameterChoice.value as string | undefined;
        await core.loadModel(req.modelName, configJson === undefined ? undefined : { configJson });
        return create(RepositoryModelLoadResponseSchema);
      },
    ),
    RepositoryModelUnload: unary(
      async (req: RepositoryModelUnloadRequest): Promise<RepositoryModelUnloadResponse> => {
        if (req.repositoryName !== '') {
          throw new InferenceError('UNSUPPORTED', "'repository_name' specification is not supported");
        }
        const dependents = req.parameters.unload_dependents?.parameterChoice;
        await core.unloadModel(req.modelName, {
          unloadDependents: dependents?.case === 'boolParam' && dependents.value,
        });
        return create(RepositoryModelUnloadResponseSchema);
      },
    ),
  };
  for (const rpc of Object.keys(inferenceServiceDefinition)) {
    if (!(rpc in implementation)) implementation[rpc] = unimplemented(rpc);
  }
  server.addService(streamTolerantDefinition, implementation);
  server.addService(healthServiceDefinition, {
    Check: unary(
      (): HealthCheckResponse =>
        create(HealthCheckResponseSchema, {
          status:
            !core.isExiting() && core.isReady()
              ? HealthCheckResponse_ServingStatus.SERVING
              : HealthCheckResponse_ServingStatus.NOT_SERVING,
        }),
    ),
  });

  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port =
    options.listen === false
      ? 0
      : await new Promise<number>((resolve, reject) => {
          server.bindAsync(`${host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) =>
            err ? reject(err) : resolve(bound),
          );
        });
  let injector: ReturnType<Server['createConnectionInjector']> | undefined;
  let closing = false;
  let injected = 0;

  return {
    port,
    inject: (socket: Duplex) => {
      if (closing || injected >= limits.maxConnections) {
        socket.destroy();
        return;
      }
      injected++;
      socket.once('close', () => {
        injected--;
      });
      injector ??= server.createConnectionInjector(ServerCredentials.createInsecure());
      injector.injectConnection(socket);
    },
    close: (graceful: boolean) =>
      new Promise<void>((resolve) => {
        closing = true;
        if (graceful) {
          server.tryShutdown(() => resolve());
        } else {
          server.forceShutdown();
          resolve();
        }
      }),
  };
}
