/**
 * `--request-parameter <name:value:type>` (perf_analyzer §1.2): a custom parameter sent with every request.
 * Types `bool`, `int`, `string` (lower-cased, as perf_analyzer does). gRPC only, like perf_analyzer.
 */
import { OptionError } from '../errors.ts';

export type RequestParameterValue = string | number | boolean;

export function parseRequestParameter(text: string): { name: string; value: RequestParameterValue } {
  const fields = text.split(':');
  if (fields.length !== 3 || fields[0] === '') {
    throw new OptionError(
      `Failed to parse --request-parameter. The value must be <name>:<value>:<type>: '${text}'`,
    );
  }
  const [name, raw, type] = fields as [string, string, string];
  switch (type.toLowerCase()) {
    case 'string':
      return { name, value: raw };
    case 'int':
      if (!/^[+-]?\d+$/.test(raw)) {
        throw new OptionError(
          `Failed to parse --request-parameter. '${raw}' is not an int (parameter '${name}').`,
        );
      }
      return { name, value: Number(raw) };
    case 'bool': {
      const lower = raw.toLowerCase();
      if (lower !== 'true' && lower !== 'false') {
        throw new OptionError(
          `Failed to parse --request-parameter. '${raw}' is not a bool (parameter '${name}').`,
        );
      }
      return { name, value: lower === 'true' };
    }
    default:
      throw new OptionError(
        `Failed to parse --request-parameter. Unsupported type '${type}': the type must be bool, int or string.`,
      );
  }
}

export function requestParametersOf(values: readonly string[]): Record<string, RequestParameterValue> {
  const params: Record<string, RequestParameterValue> = {};
  for (const text of values) {
    const { name, value } = parseRequestParameter(text);
    params[name] = value;
  }
  return params;
}
