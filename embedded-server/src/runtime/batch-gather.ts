/**
 * Incremental batch gathering for the gather thread (gather-worker.ts): the requests of a staged batch are
 * copied into one contiguous buffer per input as their messages arrive, while the ORT thread is still
 * running the previous batch, so that the ORT thread gets each input as one buffer it can hand to ORT as it
 * is (no gather copy on the thread that runs the model; ONNX Runtime 1.29 refuses typed arrays over a
 * SharedArrayBuffer — "Invalid argument" — so the batch cannot simply be written into shared memory).
 *
 * Only numeric inputs whose parts agree on datatype and on every dim after the batch dim are merged; any
 * other input (BYTES, no batch dim, a part that disagrees) keeps its parts as they came, and the ORT thread
 * concatenates them exactly as it would have (same bytes, same error text). Buffers come back from the ORT
 * thread after each run (`recycle`) so that steady state allocates nothing.
 */
import { byteSizeOf } from '../../../src/protocol/datatypes.ts';
import { bucketFor } from './batch-buckets.ts';
import type { WireInput } from './worker-protocol.ts';

/** Largest buffer kept for reuse; bigger ones are dropped after use (a one-off huge batch is not kept). */
export const MAX_POOLED_BYTES = 256 * 1024 * 1024;
/** Buffers kept for reuse (a batch being gathered and one being run, per input of a two-input model). */
export const MAX_POOLED_BUFFERS = 4;

interface Merged {
  kind: 'merged';
  name: string;
  datatype: WireInput['datatype'];
  /** Dims after the batch dim, shared by every part. */
  rest: number[];
  rows: number;
  buffer: ArrayBuffer;
  usedBytes: number;
}

interface Parts {
  kind: 'parts';
  input: WireInput;
}

type Accumulator = Merged | Parts;

export interface GatheredBatch {
  /** Per input: one part (merged, possibly zero-padded to a bucket) or the parts as they came. */
  inputs: WireInput[];
  outputNames: string[];
  /** Real rows of the batch (before bucket padding), when every input is merged; else undefined. */
  rows: number | undefined;
  /** Buffers to transfer with the batch (each once). */
  transfer: ArrayBuffer[];
}

export interface GatherOptions {
  /** Ascending batch-size buckets of the instance (empty: exact shapes, no padding). */
  bucketSizes: readonly number[];
  /** Rows to reserve room for when a merged buffer is first allocated (max_batch_size or the largest bucket). */
  capacityRows: number;
}

/** A buffer pool of fixed-purpose ArrayBuffers: the smallest free one that is large enough is reused. */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  take(minBytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i] as ArrayBuffer;
      if (
        b.byteLength >= minBytes &&
        (best < 0 || b.byteLength < (this.free[best] as ArrayBuffer).byteLength)
      )
        best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0] as ArrayBuffer;
    return new ArrayBuffer(minBytes);
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0 || buffer.byteLength > MAX_POOLED_BYTES) return;
    if (this.free.length >= MAX_POOLED_BUFFERS) this.free.shift();
    this.free.push(buffer);
  }

  size(): number {
    return this.free.length;
  }
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** One staged batch being gathered: add each stage message's inputs in order, then finish once. */
export class BatchGatherer {
  private readonly byName = new Map<string, Accumulator>();
  private readonly order: string[] = [];
  private outputNames: string[] = [];
  private requests = 0;
  private batchRows = 0;

  constructor(
    private readonly pool: BufferPool,
    private readonly options: GatherOptions,
  ) {}

  /** Requests added so far. */
  count(): number {
    return this.requests;
  }

  /** Rows added so far: Σ dim 0 of the first input (a request without a batch dim counts 1). */
  rows(): number {
    return this.batchRows;
  }

  /** Adds one stage message's `requests` requests (their inputs grouped by name, as the main thread posts them). */
  add(inputs: readonly WireInput[], outputNames: readonly string[], requests: number): void {
    if (this.requests === 0) this.outputNames = [...outputNames];
    this.requests += requests;
    for (const shape of inputs[0]?.shapes ?? [])
      this.batchRows += shape.length > 0 ? (shape[0] as number) : 1;
    for (const input of inputs) {
      let acc = this.byName.get(input.name);
      if (!acc) {
        this.order.push(input.name);
        acc = this.start(input);
        this.byName.set(input.name, acc);
        continue;
      }
      if (acc.kind === 'merged' && !this.fits(acc, input)) acc = this.unmerge(acc);
      if (acc.kind === 'merged') this.append(acc, input);
      else appendParts(acc.input, input);
    }
  }

  /** The batch as one message: merged inputs padded to the instance's bucket; the buffers to transfer. */
  finish(): GatheredBatch {
    const accs = this.order.map((name) => this.byName.get(name) as Accumulator);
    this.byName.clear();
    const transfer: ArrayBuffer[] = [];
    for (const acc of accs) {
      if (acc.kind === 'merged') transfer.push(acc.buffer);
      else for (const b of acc.input.buffers) if (!transfer.includes(b)) transfer.push(b);
    }
    const first = accs[0];
    const rows = first?.kind === 'merged' ? first.rows : undefined;
    const allMerged = accs.every((a) => a.kind === 'merged' && a.rows === rows);
    if (!allMerged || rows === undefined) {
      // Left for the ORT thread to pad (or to refuse with its usual text): nothing padded here.
      const inputs = accs.map((a) => (a.kind === 'merged' ? mergedInput(a, a.rows, a.usedBytes) : a.input));
      return { inputs, outputNames: this.outputNames, rows: undefined, transfer };
    }
    return {
      inputs: accs.map((a) => this.padded(a as Merged)),
      outputNames: this.outputNames,
      rows,
      transfer,
    };
  }

  /** Gives every buffer back to the pool (a batch that will not be sent). */
  discard(): void {
    for (const acc of this.byName.values()) if (acc.kind === 'merged') this.pool.give(acc.buffer);
    this.byName.clear();
  }

  private start(input: WireInput): Accumulator {
    const first = input.shapes[0];
    const width = byteSizeOf(input.datatype);
    if (width === 0 || !first || first.length === 0) return { kind: 'parts', input: copyParts(input) };
    const rest = first.slice(1);
    const acc: Merged = {
      kind: 'merged',
      name: input.name,
      datatype: input.datatype,
      rest,
      rows: 0,
      buffer: new ArrayBuffer(0),
      usedBytes: 0,
    };
    // Checked before anything is allocated: a shape that lies about its bytes reserves nothing.
    if (!this.fits(acc, input)) return { kind: 'parts', input: copyParts(input) };
    const rowBytes = rest.reduce((a, b) => a * b, 1) * width;
    const reserve = rowBytes * this.options.capacityRows;
    acc.buffer = this.pool.take(Math.max(reserve <= MAX_POOLED_BYTES ? reserve : 0, totalBytes(input)));
    this.append(acc, input);
    return acc;
  }

  /** Whether every part of `input` can be appended to `acc` (same datatype and row dims, consistent byte size). */
  private fits(acc: Merged, input: WireInput): boolean {
    if (input.datatype !== acc.datatype) return false;
    const rowBytes = acc.rest.reduce((a, b) => a * b, 1) * byteSizeOf(acc.datatype);
    return input.shapes.every(
      (s, i) =>
        s.length === acc.rest.length + 1 &&
        sameDims(s.slice(1), acc.rest) &&
        (s[0] as number) >= 0 &&
        (s[0] as number) * rowBytes === input.byteLengths[i],
    );
  }

  private append(acc: Merged, input: WireInput): void {
    const bytes = totalBytes(input);
    if (acc.usedBytes + bytes > acc.buffer.byteLength) {
      // More rows than reserved: grow (one copy of what is there; rare: capacityRows is max_batch_size).
      const grown = this.pool.take(Math.max(acc.buffer.byteLength * 2, acc.usedBytes + bytes));
      new Uint8Array(grown).set(new Uint8Array(acc.buffer, 0, acc.usedBytes));
      this.pool.give(acc.buffer);
      acc.buffer = grown;
    }
    const into = new Uint8Array(acc.buffer);
    input.buffers.forEach((b, i) => {
      const len = input.byteLengths[i] as number;
      into.set(new Uint8Array(b, input.byteOffsets[i], len), acc.usedBytes);
      acc.usedBytes += len;
      acc.rows += (input.shapes[i] as number[])[0] as number;
    });
  }

  /** A merged input back to parts: its bytes so far as one part, for inputs that stopped agreeing. */
  private unmerge(acc: Merged): Parts {
    const parts: Parts = { kind: 'parts', input: mergedInput(acc, acc.rows, acc.usedBytes) };
    this.byName.set(acc.name, parts);
    return parts;
  }

  /** The merged input, zero-padded in place to the bucket that holds its rows (when there is room). */
  private padded(acc: Merged): WireInput {
    const bucket = bucketFor(this.options.bucketSizes, acc.rows);
    let rows = acc.rows;
    let bytes = acc.usedBytes;
    if (bucket !== undefined && bucket > acc.rows && acc.rows > 0) {
      const padBytes = (acc.usedBytes / acc.rows) * (bucket - acc.rows);
      if (acc.usedBytes + padBytes <= acc.buffer.byteLength) {
        new Uint8Array(acc.buffer, acc.usedBytes, padBytes).fill(0);
        rows = bucket;
        bytes += padBytes;
      }
    }
    return mergedInput(acc, rows, bytes);
  }
}

/** A merged input as one wire part of `rows` rows and `bytes` bytes. */
function mergedInput(acc: Merged, rows: number, bytes: number): WireInput {
  return {
    name: acc.name,
    datatype: acc.datatype,
    shapes: [[rows, ...acc.rest]],
    buffers: [acc.buffer],
    byteOffsets: [0],
    byteLengths: [bytes],
  };
}

function totalBytes(input: WireInput): number {
  return input.byteLengths.reduce((a, b) => a + b, 0);
}

function copyParts(input: WireInput): WireInput {
  return {
    name: input.name,
    datatype: input.datatype,
    shapes: [...input.shapes],
    buffers: [...input.buffers],
    byteOffsets: [...input.byteOffsets],
    byteLengths: [...input.byteLengths],
  };
}

function appendParts(into: WireInput, more: WireInput): void {
  into.shapes.push(...more.shapes);
  into.buffers.push(...more.buffers);
  into.byteOffsets.push(...more.byteOffsets);
  into.byteLengths.push(...more.byteLengths);
}
