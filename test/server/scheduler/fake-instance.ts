/**
 * Test doubles for scheduler tests: a ModelInstance whose executions the test completes by hand (one
 * deferred per execute call), request builders and config parsing. The fake model is an identity:
 * OUTPUT<k> = INPUT0 of every request concatenated along dim 0, so a wrong split is visible in the data.
 */
import { fromText } from '@bufbuild/protobuf/txtpb';
import type { ResponseCache } from '../../../embedded-server/src/cache/response-cache.ts';
import type {
  ExecutionResult,
  ExecutionTimings,
  InferRequest,
  ModelInstance,
  StagedBatch,
} from '../../../embedded-server/src/core/types.ts';
import {
  createScheduler,
  type ModelScheduler,
} from '../../../embedded-server/src/scheduler/model-scheduler.ts';
import { ModelStatsRecorder } from '../../../embedded-server/src/stats/model-stats.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import type { ModelConfig } from '../../../src/protocol/gen/model_config_pb.ts';
import { ModelConfigSchema } from '../../../src/protocol/gen/model_config_pb.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

export const MS = 1_000_000;

export interface FakeCall {
  readonly requests: ReadonlyArray<readonly Tensor[]>;
  readonly outputNames: readonly string[];
  /** Sum of the requests' first dims of INPUT0. */
  readonly rows: number;
  /** Request ids in the batch (read from the INT32 data, see `request()`). */
  readonly tags: number[];
  complete(timings?: Partial<ExecutionTimings>): void;
  fail(error: Error): void;
}

function concatRows(tensors: readonly Tensor[], name: string): Tensor {
  const first = tensors[0] as Tensor;
  const rows = tensors.reduce((n, t) => n + (t.shape[0] ?? 1), 0);
  const total = tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const data = new Uint8Array(total);
  let at = 0;
  for (const t of tensors) {
    data.set(t.data, at);
    at += t.data.byteLength;
  }
  return { name, datatype: first.datatype, shape: [rows, ...first.shape.slice(1)], data };
}

/** A model instance that executes only when the test says so. */
export class FakeInstance implements ModelInstance {
  readonly kind = 'KIND_CPU' as const;
  readonly deviceId = 0;
  readonly calls: FakeCall[] = [];
  /** Executions started and not yet completed. */
  running = 0;

  constructor(
    readonly name = 'fake_0',
    private readonly options: { auto?: boolean; sharedLog?: FakeCall[] } = {},
  ) {}

  execute(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputNames: readonly string[],
  ): Promise<ExecutionResult> {
    this.running += 1;
    return new Promise<ExecutionResult>((resolve, reject) => {
      const inputs0 = requests.map((r) => r.find((t) => t.name === 'INPUT0') ?? (r[0] as Tensor));
      const call: FakeCall = {
        requests,
        outputNames,
        rows: inputs0.reduce((n, t) => n + (t.shape[0] ?? 1), 0),
        tags: inputs0.map((t) => new DataView(t.data.buffer, t.data.byteOffset).getInt32(0, true)),
        complete: (timings = {}) => {
          this.running -= 1;
          const batched = concatRows(inputs0, '');
          resolve({
            outputs: outputNames.map((name) => ({ ...batched, name })),
            computeInputNs: timings.computeInputNs ?? 0,
            computeInferNs: timings.computeInferNs ?? 0,
            computeOutputNs: timings.computeOutputNs ?? 0,
            ...this.resultExtras(),
          });
          this.freed();
        },
        fail: (error) => {
          this.running -= 1;
          reject(error);
          this.freed();
        },
      };
      this.calls.push(call);
      this.options.sharedLog?.push(call);
      if (this.options.auto) call.complete();
    });
  }

  async close(): Promise<void> {}

  /** Extra result fields (the staging fake adds `startedNs`). */
  protected resultExtras(): Partial<ExecutionResult> {
    return {};
  }

  /** Called once an execution has settled (the staging fake starts its staged batch here). */
  protected freed(): void {}
}

/**
 * A FakeInstance that starts its next execution by itself (staged or queued), stamped with the fake clock:
 * the result carries that start as `startedNs`, as the ORT instance's do.
 */
abstract class SelfStartingFakeInstance extends FakeInstance {
  private startedNs: number | undefined;

  constructor(
    name: string,
    private readonly clock: FakeClock,
    sharedLog?: FakeCall[],
  ) {
    super(name, sharedLog ? { sharedLog } : {});
  }

  /** Stamps the start of the execution that is about to run. */
  protected markStarted(): void {
    this.startedNs = this.clock.nowNs();
  }

  protected override resultExtras(): Partial<ExecutionResult> {
    const startedNs = this.startedNs;
    return startedNs === undefined ? {} : { startedNs };
  }

  protected override freed(): void {
    this.startedNs = undefined;
  }
}

/**
 * A FakeInstance that can stage a batch (like the ORT worker instance): the staged batch grows by `append`
 * until the instance starts it — by itself, synchronously, as soon as its running execution settles (before
 * the scheduler hears of that), or in a microtask when it was idle (the worker picks a message up).
 */
export class StagingFakeInstance extends SelfStartingFakeInstance {
  private open: { requests: (readonly Tensor[])[]; start: () => void } | undefined;

  stage(requests: ReadonlyArray<readonly Tensor[]>, outputNames: readonly string[]): StagedBatch | undefined {
    if (this.open) return undefined;
    const staged: (readonly Tensor[])[] = [...requests];
    let started = false;
    let settle: { resolve: (r: ExecutionResult) => void; reject: (e: Error) => void } | undefined;
    const result = new Promise<ExecutionResult>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.open = {
      requests: staged,
      start: () => {
        started = true;
        this.open = undefined;
        this.markStarted();
        const s = settle as NonNullable<typeof settle>;
        this.execute(staged, outputNames).then(s.resolve, s.reject);
      },
    };
    if (this.running === 0) {
      queueMicrotask(() => {
        if (!started && this.running === 0) this.open?.start();
      });
    }
    return {
      append: (more) => {
        if (started) return false;
        staged.push(...more);
        return true;
      },
      started: () => started,
      result,
    };
  }

  protected override freed(): void {
    super.freed();
    if (this.running === 0) this.open?.start();
  }
}

/**
 * A FakeInstance that queues (like the ORT worker instance's queueExecution): requests handed over in one turn
 * arrive together (one entry of `deliveries`, as one message would), run one at a time in order, each alone,
 * and the next starts by itself, synchronously, when the running one settles.
 */
export class QueueingFakeInstance extends SelfStartingFakeInstance {
  /** The request tags of each delivery (what one turn handed over). */
  readonly deliveries: number[][] = [];
  private readonly waiting: {
    inputs: readonly Tensor[];
    outputNames: readonly string[];
    start: () => void;
  }[] = [];
  private turn: number[] | undefined;

  queueExecution(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const tag = new DataView((inputs[0] as Tensor).data.buffer).getInt32(0, true);
    if (!this.turn) {
      const turn: number[] = [];
      this.turn = turn;
      queueMicrotask(() => {
        this.turn = undefined;
        this.deliveries.push(turn);
        if (this.running === 0) this.waiting.shift()?.start();
      });
    }
    this.turn.push(tag);
    return new Promise<ExecutionResult>((resolve, reject) => {
      this.waiting.push({
        inputs,
        outputNames,
        start: () => {
          this.markStarted();
          this.execute([inputs], outputNames).then(resolve, reject);
        },
      });
    });
  }

  protected override freed(): void {
    super.freed();
    // Only what was delivered runs: a request of the current turn is still on its way.
    const delivered = this.waiting.length - (this.turn?.length ?? 0);
    if (this.running === 0 && delivered > 0) this.waiting.shift()?.start();
  }
}

/** Lets queued microtasks (the batcher) and promise continuations run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Parses a config.pbtxt text (tests write configs as Triton users do). */
export function config(text: string): ModelConfig {
  return fromText(ModelConfigSchema, `name: "m"\n${text}`);
}

/** An INT32 identity model's config with the given extra text. */
export function identityConfig(extra: string, dims = '[ 2 ]'): ModelConfig {
  return config(`
    input [ { name: "INPUT0" data_type: TYPE_INT32 dims: ${dims} } ]
    output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: ${dims} }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: ${dims} } ]
    ${extra}
  `);
}

export interface RequestOptions {
  rows?: number;
  /** Row width (the non-batch dim). */
  width?: number;
  batching?: boolean;
  priority?: number;
  timeoutUs?: number;
  signal?: AbortSignal;
  outputs?: string[];
  receivedNs?: number;
  id?: string;
}

/** A request whose every INT32 element is `tag`, so the fake instance and the outputs reveal which it was. */
export function request(tag: number, o: RequestOptions = {}): InferRequest {
  const rows = o.rows ?? 1;
  const width = o.width ?? 2;
  const data = new Int32Array(rows * width).fill(tag);
  return {
    id: o.id ?? `r${tag}`,
    modelName: 'm',
    modelVersion: '',
    inputs: [
      {
        name: 'INPUT0',
        datatype: 'INT32',
        shape: o.batching === false ? [width] : [rows, width],
        data: new Uint8Array(data.buffer),
      },
    ],
    outputs: (o.outputs ?? []).map((name) => ({ name })),
    parameters: {},
    priority: o.priority ?? 0,
    timeoutUs: o.timeoutUs ?? 0,
    binaryDataOutput: false,
    receivedNs: o.receivedNs ?? 0,
    signal: o.signal,
  };
}

/** Values of an INT32 tensor. */
export function int32s(t: Tensor): number[] {
  return [...new Int32Array(t.data.slice().buffer)];
}

/** Records the settlement order of promises. */
export function track<T>(p: Promise<T>, log: string[], label: string): Promise<T | Error> {
  return p.then(
    (v) => {
      log.push(label);
      return v;
    },
    (e: Error) => {
      log.push(`${label}!`);
      return e;
    },
  );
}

export interface Harness {
  clock: FakeClock;
  stats: ModelStatsRecorder;
  instances: FakeInstance[];
  scheduler: ModelScheduler;
  /** All calls over all instances, in start order. */
  calls(): FakeCall[];
}

/** A scheduler over `instanceCount` fake instances on a FakeClock at 0 ns. */
export function harness(
  cfg: ModelConfig,
  o: {
    instanceCount?: number;
    cache?: ResponseCache;
    cacheEnabled?: boolean;
    staging?: boolean;
    queueing?: boolean;
  } = {},
): Harness {
  const clock = new FakeClock();
  const stats = new ModelStatsRecorder(clock);
  const order: FakeCall[] = [];
  const instances = Array.from({ length: o.instanceCount ?? 1 }, (_, i) =>
    o.queueing
      ? new QueueingFakeInstance(`m_0_${i}`, clock, order)
      : o.staging
        ? new StagingFakeInstance(`m_0_${i}`, clock, order)
        : new FakeInstance(`m_0_${i}`, { sharedLog: order }),
  );
  const scheduler = createScheduler({
    config: cfg,
    version: '1',
    instances,
    clock,
    stats,
    cache: o.cache,
    cacheEnabled: o.cacheEnabled ?? false,
  });
  return { clock, stats, instances, scheduler, calls: () => order };
}
