/**
 * Splits a batch execution's outputs back into per-request outputs along dim 0, by each request's batch
 * size (what the ORT backend does when it scatters outputs into responses). Fixed-size datatypes become
 * zero-copy `subarray` views of the batched buffer; BYTES outputs are split by walking the 4-byte
 * little-endian length prefixes, since their rows have no fixed width.
 */
import { byteSizeOf, elementCount } from '../../../src/protocol/datatypes.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

const BYTES_PREFIX_BYTES = 4;

/** A batched output that does not fit the requests it was computed for (a backend bug). */
export class OutputSplitError extends Error {
  readonly code = 'ERR_OUTPUT_SPLIT';
  constructor(message: string) {
    super(message);
    this.name = 'OutputSplitError';
  }
}

/** Walks `elements` BYTES elements from byte `offset`; returns the offset just past them. */
function skipBytesElements(t: Tensor, offset: number, elements: number): number {
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  let at = offset;
  for (let i = 0; i < elements; i++) {
    if (at + BYTES_PREFIX_BYTES > t.data.byteLength) {
      throw new OutputSplitError(`output '${t.name}' holds fewer BYTES elements than its shape says`);
    }
    at += BYTES_PREFIX_BYTES + view.getUint32(at, true);
    if (at > t.data.byteLength)
      throw new OutputSplitError(`output '${t.name}' has a truncated BYTES element`);
  }
  return at;
}

function splitOne(t: Tensor, rows: readonly number[], totalRows: number): Tensor[] {
  if (t.shape.length === 0 || t.shape[0] !== totalRows) {
    throw new OutputSplitError(
      `output '${t.name}' has shape [${t.shape.join(',')}], expected a batch dimension of ${totalRows}`,
    );
  }
  const rowShape = t.shape.slice(1);
  const rowElements = elementCount(rowShape);
  const width = byteSizeOf(t.datatype);
  if (width !== 0 && t.data.byteLength !== totalRows * rowElements * width) {
    throw new OutputSplitError(
      `output '${t.name}' has ${t.data.byteLength} bytes, expected ${totalRows * rowElements * width}`,
    );
  }
  const out: Tensor[] = [];
  let offset = 0;
  for (const r of rows) {
    const end =
      width === 0 ? skipBytesElements(t, offset, r * rowElements) : offset + r * rowElements * width;
    out.push({
      name: t.name,
      datatype: t.datatype,
      shape: [r, ...rowShape],
      data: t.data.subarray(offset, end),
    });
    offset = end;
  }
  return out;
}

/**
 * `rows[i]` = request i's first dimension. Returns, per request, its slice of every output (same order as
 * `outputs`). Throws OutputSplitError when an output's batch dimension or byte size does not add up.
 */
export function splitBatchOutputs(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  const totalRows = rows.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = rows.map(() => []);
  for (const t of outputs) {
    const parts = splitOne(t, rows, totalRows);
    parts.forEach((p, i) => {
      perRequest[i]!.push(p);
    });
  }
  return perRequest;
}
