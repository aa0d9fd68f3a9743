/**
 * One entry point for the CLI: the InferClient and the ServerApi for `-i http|grpc`, sharing URL, TLS and
 * header handling.
 */
import type { ClientOptions, InferClient } from './client.ts';
import { createGrpcClient } from './grpc-client.ts';
import { createHttpClient } from './http-client.ts';
import type { ServerApi } from './server-api.ts';
import { createGrpcServerApi } from './server-api-grpc.ts';
import { createHttpServerApi } from './server-api-http.ts';
import { DEFAULT_GRPC_URL, DEFAULT_HTTP_URL } from './server-url.ts';

export interface Transport {
  client: InferClient;
  api: ServerApi;
}

/** perf_analyzer's default `-u` for a protocol. */
export function defaultUrl(protocol: 'http' | 'grpc'): string {
  return protocol === 'http' ? DEFAULT_HTTP_URL : DEFAULT_GRPC_URL;
}

/** Creates both halves; an empty `options.url` takes the protocol's default. */
export function createTransport(protocol: 'http' | 'grpc', options: ClientOptions): Transport {
  const resolved = { ...options, url: options.url.trim() || defaultUrl(protocol) };
  if (protocol === 'http') return { client: createHttpClient(resolved), api: createHttpServerApi(resolved) };
  return { client: createGrpcClient(resolved), api: createGrpcServerApi(resolved) };
}
