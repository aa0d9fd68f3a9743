/**
 * The non-inference calls the load generator makes: metadata, config, statistics. Implemented over HTTP
 * (server-api-http.ts) and gRPC (server-api-grpc.ts). Methods reject with `ServerApiError`; `NotSupported`
 * means the server lacks the extension (a plain KServe server has no /config or /stats) so the run can go on
 * and say what it cannot show.
 */
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';

export interface ServerMetadataInfo {
  name: string;
  version: string;
  extensions: string[];
}

export interface ModelMetadataInfo {
  name: string;
  versions: string[];
  platform: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

/** One model version's cumulative statistics (Triton's statistics extension), numbers in ns and counts. */
export interface ModelStatsSnapshot {
  name: string;
  version: string;
  inferenceCount: number;
  executionCount: number;
  success: { count: number; ns: number };
  fail: { count: number; ns: number };
  queue: { count: number; ns: number };
  computeInput: { count: number; ns: number };
  computeInfer: { count: number; ns: number };
  computeOutput: { count: number; ns: number };
  cacheHit: { count: number; ns: number };
  cacheMiss: { count: number; ns: number };
}

export class ServerApiError extends Error {
  /** 'not_supported' = endpoint/extension absent; 'not_found' = unknown model; 'unavailable' = cannot connect. */
  readonly kind: 'not_supported' | 'not_found' | 'unavailable' | 'error';
  constructor(kind: ServerApiError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerApiError';
    this.kind = kind;
  }
}

/** One entry of the model-repository index (Triton's repository extension). */
export interface RepositoryIndexEntry {
  name: string;
  version: string;
  /** READY, UNAVAILABLE, LOADING… ('' when the server does not say). */
  state: string;
  /** Why the model is not ready (a load error), '' when none. */
  reason: string;
}

export interface ServerApi {
  /** Every model of the repository with its state; rejects with 'not_supported' without the extension. */
  repositoryIndex?(): Promise<RepositoryIndexEntry[]>;
  serverLive(): Promise<boolean>;
  serverMetadata(): Promise<ServerMetadataInfo>;
  modelMetadata(name: string, version: string): Promise<ModelMetadataInfo>;
  modelReady(name: string, version: string): Promise<boolean>;
  /** Rejects with kind 'not_supported' when the server has no model-configuration extension. */
  modelConfig(name: string, version: string): Promise<ModelConfig>;
  /** name '' = all models. Rejects with kind 'not_supported' when the server has no statistics extension. */
  modelStatistics(name: string, version: string, timeoutMs?: number): Promise<ModelStatsSnapshot[]>;
  close(): Promise<void>;
}
