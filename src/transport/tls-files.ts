/**
 * Reads the `--ssl-*` certificate files. Node's TLS takes PEM only; perf_analyzer also accepts DER for
 * HTTPS, so a DER file is refused by name with the conversion command instead of a cryptic TLS failure.
 */
import { readFileSync } from 'node:fs';
import { OptionError } from '../errors.ts';
import type { TlsOptions } from './client.ts';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  verifyPeer: boolean;
  verifyHost: boolean;
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (cause) {
    throw new OptionError(`cannot read the ${what} file '${path}'`, { cause });
  }
  if (!data.includes('-----BEGIN')) {
    const kind = what === 'private key' ? 'pkey' : 'x509';
    throw new OptionError(
      `the ${what} file '${path}' is not PEM (DER is not supported); convert it with: openssl ${kind} -inform DER -in ${path} -out ${path}.pem`,
    );
  }
  return data;
}

/** Loads the TLS files of `options.tls`; undefined when TLS is off. */
export function loadTlsMaterial(tls: TlsOptions | undefined): TlsMaterial | undefined {
  if (!tls?.enabled) return undefined;
  return {
    ca: readPem(tls.caFile, 'CA certificate'),
    cert: readPem(tls.certFile, 'client certificate'),
    key: readPem(tls.keyFile, 'private key'),
    verifyPeer: tls.verifyPeer ?? true,
    verifyHost: tls.verifyHost ?? true,
  };
}
