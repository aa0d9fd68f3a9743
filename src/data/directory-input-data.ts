/**
 * `--input-data <dir>` (perf_analyzer §6.2): one file per input, named after it — raw batch-1 bytes, or for
 * BYTES a text file with one element per line. One stream with one step.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError } from '../errors.ts';
import { serializeBytesElements } from '../protocol/bytes-tensor.ts';
import { byteSizeOf, elementCount } from '../protocol/datatypes.ts';
import { type DataSet, type DataStep, type InputTensorSpec, resolveGeneratedShape } from './data-set.ts';

function textLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function readDirectoryDataSet(
  dir: string,
  inputs: readonly InputTensorSpec[],
  outputNames: readonly string[],
  shapes: Readonly<Record<string, number[]>>,
  modelBatches: boolean,
): DataSet {
  const known = new Set([...inputs.map((i) => i.name), ...outputNames]);
  for (const file of readdirSync(dir)) {
    if (!known.has(file)) {
      throw new OptionError(
        `Provided data file '${file}' does not correspond to a valid model input or output.`,
      );
    }
  }
  const step: DataStep = new Map();
  for (const input of inputs) {
    const path = join(dir, input.name);
    if (!existsSync(path)) {
      if (input.optional) continue;
      throw new OptionError(`missing data file '${path}' for input ${input.name}`);
    }
    const shape = resolveGeneratedShape(input, shapes, modelBatches);
    const count = elementCount(shape);
    let data: Uint8Array;
    if (input.datatype === 'BYTES') {
      const lines = textLines(readFileSync(path, 'utf8'));
      if (lines.length !== count) {
        throw new OptionError(
          `provided data for input ${input.name} has ${lines.length} elements, expect ${count}`,
        );
      }
      data = serializeBytesElements(lines);
    } else {
      data = new Uint8Array(readFileSync(path));
      const expected = count * byteSizeOf(input.datatype);
      if (data.byteLength !== expected) {
        throw new OptionError(
          `provided data for input ${input.name} has byte size ${data.byteLength}, expect ${expected}`,
        );
      }
    }
    step.set(input.name, { datatype: input.datatype, shape, data });
  }
  return { kind: 'directory', streams: [[step]] };
}
