/**
 * ServerApi over HTTP/REST (KServe v2 + Triton's configuration and statistics extensions). Maps what a
 * server says into ServerApiError kinds so the profiler can tell "extension absent" (a plain KServe server
 * answers 404 Not Found on /config and /stats) from "unknown model" and "cannot connect".
 */
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import type { Pool } from 'undici';
import { type ModelConfig, ModelConfigSchema } from '../protocol/gen/model_config_pb.ts';
import type { ClientOptions } from './client.ts';
import { createHttpPool, httpErrorMessage, modelPath } from './http-client.ts';
import {
  type ModelMetadataInfo,
  type ModelStatsSnapshot,
  type RepositoryIndexEntry,
  type ServerApi,
  ServerApiError,
  type ServerMetadataInfo,
} from './server-api.ts';
import { statsFromJson } from './server-stats-json.ts';
import { httpTarget } from './server-url.ts';

/** Default bound on one API call, so a hung server cannot hang the CLI's startup. */
const API_TIMEOUT_MS = 30_000;

/** Triton's texts for an unknown model (404 on metadata/config, 400 on stats). */
const UNKNOWN_MODEL_RE = /unknown model|is not found|is not available|no available versions/i;

interface HttpAnswer {
  status: number;
  text: string;
}

export function createHttpServerApi(options: ClientOptions): ServerApi {
  const target = httpTarget(options.url, options.tls?.enabled);
  const pool: Pool = createHttpPool({ ...options, connections: 1 }, target);

  async function get(path: string, timeoutMs = API_TIMEOUT_MS): Promise<HttpAnswer> {
    try {
      const res = await pool.request({
        path,
        method: 'GET',
        headers: options.headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (cause) {
      const e = cause as { message?: string; code?: string };
      throw new ServerApiError(
        'unavailable',
        `cannot reach the server at ${target.origin}${target.basePath}: ${e.code ?? e.message}`,
        {
          cause,
        },
      );
    }
  }

  function failure(answer: HttpAnswer, what: string, extension: boolean): ServerApiError {
    const message = httpErrorMessage(answer.text, answer.status);
    if (UNKNOWN_MODEL_RE.test(message)) return new ServerApiError('not_found', message);
    if (extension && (answer.status === 404 || answer.status === 405 || answer.status === 501)) {
      return new ServerApiError(
        'not_supported',
        `the server has no ${what} endpoint (HTTP ${answer.status}: ${message})`,
      );
    }
    if (answer.status === 404) return new ServerApiError('not_found', message);
    return new ServerApiError('error', `${what} failed with HTTP ${answer.status}: ${message}`);
  }

  async function getJson(
    path: string,
    what: string,
    extension = false,
    timeoutMs?: number,
  ): Promise<unknown> {
    const answer = await get(path, timeoutMs);
    if (answer.status !== 200) throw failure(answer, what, extension);
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (cause) {
      throw new ServerApiError('error', `${what}: the server answered invalid JSON`, { cause });
    }
  }

  return {
    async repositoryIndex(): Promise<RepositoryIndexEntry[]> {
      let answer: HttpAnswer;
      try {
        const res = await pool.request({
          path: `${target.basePath}/v2/repository/index`,
          method: 'POST',
          headers: { ...options.headers, 'content-type': 'application/json' },
          body: '{}',
          headersTimeout: API_TIMEOUT_MS,
          bodyTimeout: API_TIMEOUT_MS,
        });
        answer = { status: res.statusCode, text: await res.body.text() };
      } catch (cause) {
        throw new ServerApiError('unavailable', `cannot reach the server at ${target.origin}`, { cause });
      }
      if (answer.status !== 200) throw failure(answer, 'repository index', true);
      let json: unknown;
      try {
        json = JSON.parse(answer.text);
      } catch (cause) {
        throw new ServerApiError('error', 'repository index: the server answered invalid JSON', { cause });
      }
      if (!Array.isArray(json)) throw new ServerApiError('error', 'repository index: not a JSON array');
      return json.map((e: Record<string, unknown>) => ({
        name: String(e.name ?? ''),
        version: String(e.version ?? ''),
        state: String(e.state ?? ''),
        reason: String(e.reason ?? ''),
      }));
    },
    async serverLive(): Promise<boolean> {
      return (await get(`${target.basePath}/v2/health/live`)).status === 200;
    },
    async serverMetadata(): Promise<ServerMetadataInfo> {
      const json = (await getJson(`${target.basePath}/v2`, 'server metadata')) as Partial<ServerMetadataInfo>;
      return {
        name: String(json.name ?? ''),
        version: String(json.version ?? ''),
        extensions: json.extensions ?? [],
      };
    },
    async modelMetadata(name: string, version: string): Promise<ModelMetadataInfo> {
      const json = (await getJson(
        modelPath(target.basePath, name, version, ''),
        'model metadata',
      )) as Partial<ModelMetadataInfo>;
      const tensors = (list: ModelMetadataInfo['inputs'] | undefined) =>
        (list ?? []).map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) }));
      return {
        name: String(json.name ?? name),
        versions: json.versions ?? [],
        platform: String(json.platform ?? ''),
        inputs: tensors(json.inputs),
        outputs: tensors(json.outputs),
      };
    },
    async modelReady(name: string, version: string): Promise<boolean> {
      const answer = await get(modelPath(target.basePath, name, version, '/ready'));
      if (answer.status === 200) return true;
      if (answer.status === 404) throw failure(answer, 'model readiness', false);
      return false;
    },
    async modelConfig(name: string, version: string): Promise<ModelConfig> {
      const json = await getJson(
        modelPath(target.basePath, name, version, '/config'),
        'model configuration',
        true,
      );
      try {
        return fromJson(ModelConfigSchema, json as JsonValue, { ignoreUnknownFields: true });
      } catch (cause) {
        throw new ServerApiError(
          'error',
          `model configuration: cannot read the server's JSON: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
    },
    async modelStatistics(name: string, version: string, timeoutMs?: number): Promise<ModelStatsSnapshot[]> {
      const path = name
        ? modelPath(target.basePath, name, version, '/stats')
        : `${target.basePath}/v2/models/stats`;
      return statsFromJson(await getJson(path, 'statistics', true, timeoutMs));
    },
    async close(): Promise<void> {
      await pool.close();
    },
  };
}
