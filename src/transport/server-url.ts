/**
 * `-u` normalisation with perf_analyzer's defaults (HTTP localhost:8000, gRPC localhost:8001): users pass
 * `host:port`, `http://host:port[/prefix]` or `https://…`, and both transports need one canonical form.
 */
import { OptionError } from '../errors.ts';

export interface HttpTarget {
  /** `http://host:port` or `https://host:port`. */
  origin: string;
  /** Path prefix before `/v2` ('' normally; kept for servers behind a path-routing proxy). */
  basePath: string;
  secure: boolean;
}

export interface GrpcTarget {
  /** `host:port` as grpc-js wants it. */
  address: string;
  /** The URL said `https://` or `grpcs://`. */
  secure: boolean;
}

export const DEFAULT_HTTP_URL = 'localhost:8000';
export const DEFAULT_GRPC_URL = 'localhost:8001';

function parse(url: string, defaultScheme: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `${defaultScheme}://${url}`;
  try {
    return new URL(withScheme);
  } catch (cause) {
    throw new OptionError(`invalid server URL '${url}'`, { cause });
  }
}

/** HTTP target of `-u`; `tls` forces https for a scheme-less URL. */
export function httpTarget(url: string, tls = false): HttpTarget {
  const u = parse(url.trim() || DEFAULT_HTTP_URL, tls ? 'https' : 'http');
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new OptionError(`unsupported URL scheme '${u.protocol}' in '${url}' for the HTTP protocol`);
  }
  const basePath = u.pathname.replace(/\/+$/, '');
  return { origin: u.origin, basePath, secure: u.protocol === 'https:' };
}

/** gRPC target of `-u`: `host:port`, with an optional `grpc://`, `grpcs://`, `http://` or `https://` prefix. */
export function grpcTarget(url: string): GrpcTarget {
  const u = parse(url.trim() || DEFAULT_GRPC_URL, 'grpc');
  const secure = u.protocol === 'https:' || u.protocol === 'grpcs:';
  if (!['grpc:', 'grpcs:', 'http:', 'https:'].includes(u.protocol)) {
    throw new OptionError(`unsupported URL scheme '${u.protocol}' in '${url}' for the gRPC protocol`);
  }
  const port = u.port || (secure ? '443' : '80');
  return { address: `${u.hostname}:${port}`, secure };
}
