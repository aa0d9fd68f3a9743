/**
 * `-H <Name:Value>`, exactly as perf_analyzer splits it: the name is the text before the first ':' and the value
 * is everything after it, untrimmed (`-H 'A: b'` sends ` b`), so headers reach the server byte for byte.
 */
import { OptionError } from '../errors.ts';

export function parseHeader(text: string): { name: string; value: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new OptionError(`Failed to parse -H. The value must be <Header:Value>: '${text}'`);
  return { name: text.slice(0, colon), value: text.slice(colon + 1) };
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
