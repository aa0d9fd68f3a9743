/**
 * ServerApi over gRPC (`inference.GRPCInferenceService`): protobuf-es messages through grpc-js unary calls,
 * int64 fields turned into numbers, gRPC statuses mapped to ServerApiError kinds (UNIMPLEMENTED = the
 * server lacks the extension).
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  ModelConfigRequestSchema,
  ModelConfigResponseSchema,
  ModelMetadataRequestSchema,
  ModelMetadataResponseSchema,
  ModelReadyRequestSchema,
  ModelReadyResponseSchema,
  ModelStatisticsRequestSchema,
  ModelStatisticsResponseSchema,
  RepositoryIndexRequestSchema,
  RepositoryIndexResponseSchema,
  ServerLiveRequestSchema,
  ServerLiveResponseSchema,
  ServerMetadataRequestSchema,
  ServerMetadataResponseSchema,
} from '../protocol/gen/grpc_service_pb.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';
import type { ClientOptions } from './client.ts';
import { grpcChannelOptions, grpcCredentials, grpcMetadata } from './grpc-client.ts';
import {
  type ModelMetadataInfo,
  type ModelStatsSnapshot,
  type RepositoryIndexEntry,
  type ServerApi,
  ServerApiError,
  type ServerMetadataInfo,
} from './server-api.ts';
import { statsFromGrpc } from './server-stats-json.ts';
import { grpcTarget } from './server-url.ts';

const SERVICE = '/inference.GRPCInferenceService/';
const API_TIMEOUT_MS = 30_000;

export function createGrpcServerApi(options: ClientOptions): ServerApi {
  const { address } = grpcTarget(options.url);
  const client = new grpc.Client(address, grpcCredentials(options), grpcChannelOptions(options));
  const metadata = grpcMetadata(options.headers);

  function call<I extends DescMessage, O extends DescMessage>(
    method: string,
    input: I,
    output: O,
    init: MessageInitShape<I>,
    extension: string | undefined,
    timeoutMs = API_TIMEOUT_MS,
  ): Promise<MessageShape<O>> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        SERVICE + method,
        (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
        (b: Buffer) => fromBinary(output, b),
        create(input, init),
        metadata,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res?: MessageShape<O>) => {
          if (!err) return resolve(res as MessageShape<O>);
          const details = err.details || err.message;
          if (err.code === grpc.status.UNIMPLEMENTED && extension) {
            return reject(
              new ServerApiError('not_supported', `the server has no ${extension} RPC (${details})`, {
                cause: err,
              }),
            );
          }
          if (err.code === grpc.status.NOT_FOUND || /is not available|unknown model/i.test(details)) {
            return reject(new ServerApiError('not_found', details, { cause: err }));
          }
          if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
            return reject(
              new ServerApiError('unavailable', `cannot reach the server at ${address}: ${details}`, {
                cause: err,
              }),
            );
          }
          reject(
            new ServerApiError('error', `${method} failed: ${grpc.status[err.code]}: ${details}`, {
              cause: err,
            }),
          );
        },
      );
    });
  }

  return {
    async repositoryIndex(): Promise<RepositoryIndexEntry[]> {
      const r = await call(
        'RepositoryIndex',
        RepositoryIndexRequestSchema,
        RepositoryIndexResponseSchema,
        { repositoryName: '', ready: false },
        'RepositoryIndex',
      );
      return r.models.map((m) => ({ name: m.name, version: m.version, state: m.state, reason: m.reason }));
    },
    async serverLive(): Promise<boolean> {
      return (await call('ServerLive', ServerLiveRequestSchema, ServerLiveResponseSchema, {}, undefined))
        .live;
    },
    async serverMetadata(): Promise<ServerMetadataInfo> {
      const r = await call(
        'ServerMetadata',
        ServerMetadataRequestSchema,
        ServerMetadataResponseSchema,
        {},
        undefined,
      );
      return { name: r.name, version: r.version, extensions: [...r.extensions] };
    },
    async modelMetadata(name: string, version: string): Promise<ModelMetadataInfo> {
      const r = await call(
        'ModelMetadata',
        ModelMetadataRequestSchema,
        ModelMetadataResponseSchema,
        { name, version },
        undefined,
      );
      const tensors = (list: typeof r.inputs) =>
        list.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map((d) => Number(d)) }));
      return {
        name: r.name,
        versions: [...r.versions],
        platform: r.platform,
        inputs: tensors(r.inputs),
        outputs: tensors(r.outputs),
      };
    },
    async modelReady(name: string, version: string): Promise<boolean> {
      return (
        await call(
          'ModelReady',
          ModelReadyRequestSchema,
          ModelReadyResponseSchema,
          { name, version },
          undefined,
        )
      ).ready;
    },
    async modelConfig(name: string, version: string): Promise<ModelConfig> {
      const r = await call(
        'ModelConfig',
        ModelConfigRequestSchema,
        ModelConfigResponseSchema,
        { name, version },
        'ModelConfig',
      );
      if (!r.config)
        throw new ServerApiError('error', `ModelConfig: the server sent no config for '${name}'`);
      return r.config;
    },
    async modelStatistics(name: string, version: string, timeoutMs?: number): Promise<ModelStatsSnapshot[]> {
      const r = await call(
        'ModelStatistics',
        ModelStatisticsRequestSchema,
        ModelStatisticsResponseSchema,
        { name, version },
        'ModelStatistics',
        timeoutMs,
      );
      return statsFromGrpc(r.modelStats);
    },
    async close(): Promise<void> {
      client.close();
    },
  };
}
