/**
 * `--shape name:d1,d2,...` parsing with perf_analyzer's rules and texts, so scripts that pass shapes to
 * perf_analyzer get the same acceptance and the same error messages here.
 */
import { OptionError } from '../errors.ts';

/** One parsed `--shape` value: the input name and its dims (without the batch dimension for batching models). */
export interface ShapeOption {
  name: string;
  dims: number[];
}

function usage(message: string): OptionError {
  return new OptionError(`Failed to parse --shape. ${message}`);
}

/**
 * Parses one `--shape` value. The name is everything before the LAST ':' (tensor names may contain ':'),
 * every dim must be an integer > 0.
 */
export function parseShapeOption(value: string): ShapeOption {
  const colon = value.lastIndexOf(':');
  if (colon <= 0 || colon === value.length - 1) throw usage('There must be a colon after input name.');
  const name = value.slice(0, colon);
  const dims: number[] = [];
  for (const part of value.slice(colon + 1).split(',')) {
    const text = part.trim();
    if (!/^-?\d+$/.test(text)) throw usage(`Invalid value provided: ${value}`);
    const dim = Number(text);
    if (dim <= 0) throw usage('The dimensions of input tensor must be > 0.');
    dims.push(dim);
  }
  return { name, dims };
}

/** Parses every `--shape` value into a name → dims map; a later value for the same name wins, as in perf_analyzer. */
export function parseShapeOptions(values: readonly string[]): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const v of values) {
    const { name, dims } = parseShapeOption(v);
    shapes[name] = dims;
  }
  return shapes;
}
