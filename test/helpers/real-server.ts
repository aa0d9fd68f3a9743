/** Temp model repositories and small HTTP and gRPC helpers for the server's end-to-end tests. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import type { ModelInferRequest, ModelInferResponse } from '../../src/protocol/gen/grpc_service_pb.ts';
import { inferenceServiceDefinition } from '../../src/protocol/grpc-service.ts';

export interface RepoModel {
  /** config.pbtxt text; omitted = no config file (autocomplete). */
  config?: string;
  /** ONNX bytes per version directory; default version "1". */
  onnx: Uint8Array;
  versions?: string[];
}

export interface TempRepository {
  dir: string;
  addModel(name: string, model: RepoModel): Promise<void>;
  remove(): Promise<void>;
}

export async function tempRepository(models: Record<string, RepoModel>): Promise<TempRepository> {
  const dir = await mkdtemp(join(tmpdir(), 'inferbench-server-test-'));
  const addModel = async (name: string, model: RepoModel): Promise<void> => {
    for (const v of model.versions ?? ['1']) {
      await mkdir(join(dir, name, v), { recursive: true });
      await writeFile(join(dir, name, v, 'model.onnx'), model.onnx);
    }
    if (model.config !== undefined) await writeFile(join(dir, name, 'config.pbtxt'), model.config);
  };
  for (const [name, model] of Object.entries(models)) await addModel(name, model);
  return { dir, addModel, remove: () => rm(dir, { recursive: true, force: true }) };
}

export const SIMPLE_CONFIG = `
name: "simple"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "intra_op_thread_count" value: { string_value: "1" } }
`;

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: () => unknown;
}

/** fetch with the body read; never throws for HTTP error statuses. */
export async function http(url: string, init?: RequestInit): Promise<HttpResult> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

export function postJson(url: string, body: unknown): Promise<HttpResult> {
  return http(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export function range(n: number, f: (i: number) => number = (i) => i): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

/** A bare grpc-js client of `inference.GRPCInferenceService` with its ModelInfer call (close it after use). */
export type GrpcInferClient = Client & {
  ModelInfer: (
    req: ModelInferRequest,
    cb: (err: ServiceError | null, res?: ModelInferResponse) => void,
  ) => void;
};

export function grpcInferClient(url: string): GrpcInferClient {
  const Ctor = makeGenericClientConstructor(inferenceServiceDefinition, 'GRPCInferenceService');
  return new Ctor(url, credentials.createInsecure()) as unknown as GrpcInferClient;
}
