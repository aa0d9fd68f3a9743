/**
 * The ORT sessions of one model instance, inside its worker thread: one session, or one per batch-size
 * bucket (see batch-buckets.ts for why), each warmed at its bucket size before the instance reports
 * ready so that no client request pays cuDNN's algorithm search.
 */
import { InferenceSession, type Tensor as OrtTensor } from 'onnxruntime-node';
import { byteSizeOf, elementCount } from '../../../src/protocol/datatypes.ts';
import { bucketFor } from './batch-buckets.ts';
import { toOrtTensor } from './tensor-map.ts';
import type { BucketPlan } from './worker-protocol.ts';

export interface SessionChoice {
  session: InferenceSession;
  /** Rows the batch is padded to; undefined = run at the batch's own size. */
  paddedRows: number | undefined;
}

export class SessionSet {
  /** Bucket size → its session; empty without buckets. */
  private readonly byBucket: Map<number, InferenceSession>;
  private readonly buckets: number[];
  /** The session for exact-shape runs, and the one whose metadata describes the model. */
  readonly main: InferenceSession;
  /** Wall time spent warming the bucket sessions (0 without buckets or warm inputs). */
  readonly warmMs: number;

  private constructor(main: InferenceSession, byBucket: Map<number, InferenceSession>, warmMs: number) {
    this.main = main;
    this.byBucket = byBucket;
    this.buckets = [...byBucket.keys()].sort((a, b) => a - b);
    this.warmMs = warmMs;
  }

  static async create(
    modelPath: string,
    options: InferenceSession.SessionOptions,
    plan: BucketPlan | undefined,
  ): Promise<SessionSet> {
    if (!plan || plan.sizes.length === 0) {
      return new SessionSet(await InferenceSession.create(modelPath, options), new Map(), 0);
    }
    const byBucket = new Map<number, InferenceSession>();
    try {
      for (const size of plan.sizes) byBucket.set(size, await InferenceSession.create(modelPath, options));
      const t0 = performance.now();
      if (plan.warmInputs) {
        for (const [size, session] of byBucket) await session.run(zeroFeeds(plan.warmInputs, size));
      }
      const largest = byBucket.get(plan.sizes[plan.sizes.length - 1] as number) as InferenceSession;
      return new SessionSet(largest, byBucket, performance.now() - t0);
    } catch (e) {
      await Promise.allSettled([...byBucket.values()].map((s) => s.release()));
      throw e;
    }
  }

  /** Releases every session (the thread ends next; a released session must not run again). */
  async release(): Promise<void> {
    const all = new Set<InferenceSession>([this.main, ...this.byBucket.values()]);
    await Promise.allSettled([...all].map((s) => s.release()));
  }

  get bucketSizes(): readonly number[] {
    return this.buckets;
  }

  /** The session for a batch of `rows` rows (undefined rows: the model does not batch). */
  choose(rows: number | undefined): SessionChoice {
    if (rows === undefined || this.buckets.length === 0) return { session: this.main, paddedRows: undefined };
    const bucket = bucketFor(this.buckets, rows);
    if (bucket === undefined) return { session: this.main, paddedRows: undefined };
    return {
      session: this.byBucket.get(bucket) as InferenceSession,
      paddedRows: bucket === rows ? undefined : bucket,
    };
  }
}

/** Zero inputs of `rows` rows (BYTES: empty strings), for warming a bucket session. */
function zeroFeeds(inputs: BucketPlan['warmInputs'] & object, rows: number): Record<string, OrtTensor> {
  const feeds: Record<string, OrtTensor> = {};
  for (const input of inputs) {
    const shape = [rows, ...input.dims];
    const count = elementCount(shape);
    const width = byteSizeOf(input.datatype);
    const data = new Uint8Array(width === 0 ? count * 4 : count * width);
    feeds[input.name] = toOrtTensor(input.name, input.datatype, { shape, data });
  }
  return feeds;
}
