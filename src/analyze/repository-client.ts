/**
 * The repository calls analyze makes over HTTP (Triton's model repository extension): load a model with a
 * `config` override (POST /v2/repository/models/<m>/load {"parameters":{"config":"<JSON>"}}), load it from
 * its repository again (no parameters), and read its config back. Works against the bundled server and a
 * Triton started with --model-control-mode=explicit.
 */
import { ServerError } from '../errors.ts';
import { isJsonObject, parseExactJson } from '../protocol/exact-json.ts';
import type { ModelConfig } from '../protocol/gen/model_config_pb.ts';
import { modelConfigFromJson } from '../protocol/model-config-json.ts';
import { httpTarget } from '../transport/server-url.ts';

/** The server answered a load with an error (the config is refused, or the repository API is off). */
export class LoadRefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'LoadRefusedError';
  }
}

export interface RepositoryClient {
  /** Loads (or reloads) the model; with `configJson`, that config instead of the repository's file. */
  load(model: string, configJson?: string): Promise<void>;
  config(model: string): Promise<ModelConfig>;
  /** The URL the calls go to, for messages. */
  readonly origin: string;
}

/** Loading a model (ORT sessions, warm-up) can take a while; a load that takes longer counts as failed. */
export const LOAD_TIMEOUT_MS = 300_000;
const CALL_TIMEOUT_MS = 30_000;

function errorText(body: string, status: number): string {
  try {
    const json = parseExactJson(body);
    if (isJsonObject(json) && typeof json.error === 'string') return json.error.trim();
  } catch {
    // Not JSON: the raw text below.
  }
  return body.trim() || `HTTP ${status}`;
}

export function httpRepositoryClient(url: string, headers: Record<string, string> = {}): RepositoryClient {
  const target = httpTarget(url);
  const base = `${target.origin}${target.basePath}`;
  const call = async (
    path: string,
    init: RequestInit,
    timeoutMs: number,
  ): Promise<{ status: number; body: string }> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        ...init,
        headers: { ...headers, ...(init.headers ?? {}) },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause =
        error instanceof Error
          ? ((error.cause as Error | undefined)?.message ?? error.message)
          : String(error);
      throw new ServerError(`cannot reach the repository API at ${base}: ${cause}`, { cause: error });
    }
    return { status: res.status, body: await res.text() };
  };
  return {
    origin: base,
    async load(model, configJson) {
      const body = configJson === undefined ? '' : JSON.stringify({ parameters: { config: configJson } });
      const { status, body: reply } = await call(
        `/v2/repository/models/${encodeURIComponent(model)}/load`,
        { method: 'POST', headers: { 'Content-Type': 'application/json' }, body },
        LOAD_TIMEOUT_MS,
      );
      if (status !== 200) throw new LoadRefusedError(errorText(reply, status), status);
    },
    async config(model) {
      const { status, body } = await call(
        `/v2/models/${encodeURIComponent(model)}/config`,
        { method: 'GET' },
        CALL_TIMEOUT_MS,
      );
      if (status !== 200) {
        throw new ServerError(
          `cannot read the config of model '${model}' from ${base}: ${errorText(body, status)}`,
        );
      }
      try {
        return modelConfigFromJson(parseExactJson(body));
      } catch (error) {
        throw new ServerError(
          `the config of model '${model}' from ${base} is not a ModelConfig: ${(error as Error).message}`,
          { cause: error },
        );
      }
    },
  };
}
