/**
 * `-H <Name:Value>`, exactly as perf_analyzer splits it: the name is the text before the first ':' and the value
 * is everything after it, untrimmed (`-H 'A: b'` sends ` b`), so headers reach the server byte for byte.
 */
import { OptionError } from '../errors.ts';

/** An HTTP field name (RFC 9110 token): what both transports can send. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Bytes no header value may carry (they would end the header, or the request, early). */
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;

export function parseHeader(text: string): { name: string; value: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new OptionError(`Failed to parse -H. The value must be <Header:Value>: '${text}'`);
  const name = text.slice(0, colon);
  const value = text.slice(colon + 1);
  if (!TOKEN.test(name)) {
    throw new OptionError(
      `-H '${name}': a header name may hold only letters, digits and !#$%&'*+-.^_\`|~ (no spaces)`,
    );
  }
  if (FORBIDDEN_IN_VALUE.test(value)) {
    throw new OptionError(`-H '${name}': the value must not contain a line break or NUL byte`);
  }
  return { name, value };
}

/** Folds repeated -H values into one record; a repeated name gets its values joined with ", " (HTTP semantics). */
export function headersOf(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const text of values) {
    const { name, value } = parseHeader(text);
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}
