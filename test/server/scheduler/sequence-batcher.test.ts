/**
 * The sequence batcher's rules with a fake accumulate instance (so every row is visible) and a fake clock
 * (so idle expiry needs no sleeping): slots, backlog, controls, implicit state, direct padding, oldest
 * batches, correlation IDs of both kinds, and Triton's refusals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  ExecutionResult,
  InferRequest,
  ModelInstance,
} from '../../../embedded-server/src/core/types.ts';
import type { StateSpec } from '../../../embedded-server/src/scheduler/implicit-state.ts';
import {
  createSequenceBatcher,
  type SequenceBatcher,
} from '../../../embedded-server/src/scheduler/sequence-batcher.ts';
import { ModelStatsRecorder } from '../../../embedded-server/src/stats/model-stats.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';
import { InferenceError } from '../../../src/protocol/status.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { config, flush } from './fake-instance.ts';

const MS = 1_000_000;

function int32(t: Tensor | undefined): number {
  assert.ok(t, 'tensor present');
  return new DataView(t.data.buffer, t.data.byteOffset).getInt32(0, true);
}

function int32Tensor(name: string, value: number): Tensor {
  return { name, datatype: 'INT32', shape: [1, 1], data: new Uint8Array(Int32Array.of(value).buffer) };
}

interface Row {
  input: number;
  start: number;
  end: number;
  ready: number;
  corrId: bigint;
  state: number;
}

/**
 * Executes the accumulate rule (OUTPUT = STATE_IN × (1 − START) + INPUT) row by row and logs each batch.
 * `hold` keeps executions pending until `release()`.
 */
class AccumulateInstance implements ModelInstance {
  readonly kind = 'KIND_CPU' as const;
  readonly deviceId = 0;
  readonly batches: Row[][] = [];
  private held: (() => void)[] = [];
  hold = false;
  constructor(readonly name = 'acc_0') {}

  execute(
    requests: ReadonlyArray<readonly Tensor[]>,
    outputNames: readonly string[],
  ): Promise<ExecutionResult> {
    const rows = requests.map((r) => {
      const get = (n: string) => r.find((t) => t.name === n);
      const corr = get('CORRID');
      return {
        input: int32(get('INPUT')),
        start: int32(get('START')),
        end: int32(get('END')),
        ready: int32(get('READY')),
        corrId: corr ? new DataView(corr.data.buffer, corr.data.byteOffset).getBigUint64(0, true) : 0n,
        state: int32(get('STATE_IN')),
      };
    });
    this.batches.push(rows);
    const sums = rows.map((r) => r.state * (1 - r.start) + r.input);
    const data = new Uint8Array(Int32Array.from(sums).buffer);
    const result: ExecutionResult = {
      outputs: outputNames.map((name) => ({ name, datatype: 'INT32', shape: [rows.length, 1], data })),
      computeInputNs: 0,
      computeInferNs: 0,
      computeOutputNs: 0,
    };
    if (!this.hold) return Promise.resolve(result);
    return new Promise((resolve) => this.held.push(() => resolve(result)));
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const r of held) r();
  }

  async close(): Promise<void> {}
}

const STATE: StateSpec = {
  inputName: 'STATE_IN',
  outputName: 'STATE_OUT',
  datatype: 'INT32',
  initial: int32Tensor('STATE_IN', 0),
};

const CONTROLS = `
  control_input [
    { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] },
    { name: "END" control [ { kind: CONTROL_SEQUENCE_END int32_false_true: [ 0, 1 ] } ] },
    { name: "READY" control [ { kind: CONTROL_SEQUENCE_READY int32_false_true: [ 0, 1 ] } ] },
    { name: "CORRID" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_UINT64 } ] }
  ]
  state [ { input_name: "STATE_IN" output_name: "STATE_OUT" data_type: TYPE_INT32 dims: [ 1 ] } ]`;

function accumulateConfig(mbs: number, strategy: string, idleUs = 1_000_000) {
  return config(`
    max_batch_size: ${mbs}
    input [ { name: "INPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
    output [ { name: "OUTPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
    sequence_batching { max_sequence_idle_microseconds: ${idleUs} ${strategy} ${CONTROLS} }`);
}

interface Setup {
  batcher: SequenceBatcher;
  instances: AccumulateInstance[];
  clock: FakeClock;
  stats: ModelStatsRecorder;
  send(id: bigint | string, value: number, flags?: { start?: boolean; end?: boolean }): Promise<number>;
}

function setup(
  options: { mbs?: number; strategy?: string; instances?: number; idleUs?: number } = {},
): Setup {
  const clock = new FakeClock(1_000 * MS);
  const stats = new ModelStatsRecorder(clock);
  const instances = Array.from(
    { length: options.instances ?? 1 },
    (_, i) => new AccumulateInstance(`acc_${i}`),
  );
  const batcher = createSequenceBatcher({
    config: accumulateConfig(options.mbs ?? 2, options.strategy ?? 'direct { }', options.idleUs),
    version: '1',
    instances,
    clock,
    stats,
    states: [STATE],
  });
  const send = async (id: bigint | string, value: number, flags: { start?: boolean; end?: boolean } = {}) => {
    const request: InferRequest = {
      id: '',
      modelName: 'm',
      modelVersion: '',
      inputs: [int32Tensor('INPUT', value)],
      outputs: [],
      parameters: {},
      priority: 0,
      timeoutUs: 0,
      binaryDataOutput: false,
      receivedNs: clock.nowNs(),
      sequence: { correlationId: id, start: flags.start ?? false, end: flags.end ?? false },
    };
    const response = await batcher.enqueue(request);
    assert.deepEqual(
      response.outputs.map((o) => o.name),
      ['OUTPUT'],
      'state outputs never reach the client',
    );
    return int32(response.outputs[0]);
  };
  return { batcher, instances, clock, stats, send };
}

async function rejection(p: Promise<unknown>): Promise<InferenceError> {
  const e = await p.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof InferenceError);
  return e;
}

describe('sequence batcher: running state per sequence', () => {
  it('interleaved sequences each get their own running sum; END frees the slot and the ID', async () => {
    const { send, batcher } = setup();
    assert.equal(await send(1n, 5, { start: true }), 5);
    assert.equal(await send('a', 100, { start: true }), 100);
    assert.equal(await send(1n, 7), 12);
    assert.equal(await send('a', 1), 101);
    assert.equal(await send(1n, -2, { end: true }), 10);
    assert.equal(batcher.openSequences(), 1);
    // The ID is forgotten at END: the same ID again needs a START and starts from 0.
    const e = await rejection(send(1n, 1));
    assert.equal(
      e.message,
      "inference request for sequence 1 to model 'm' must specify the START flag on the first request of the sequence",
    );
    assert.equal(await send(1n, 3, { start: true, end: true }), 3);
  });

  it('a uint64 ID and the string of the same digits are different sequences', async () => {
    const { send } = setup();
    assert.equal(await send(7n, 1, { start: true }), 1);
    assert.equal(await send('7', 10, { start: true }), 10);
    assert.equal(await send(7n, 1), 2);
    assert.equal(await send('7', 10), 20);
  });

  it('a START on an open sequence restarts its sum (Triton: the previous sequence ends early)', async () => {
    const { send } = setup();
    await send(3n, 4, { start: true });
    assert.equal(await send(3n, 4), 8);
    assert.equal(await send(3n, 4, { start: true }), 4);
  });

  it('controls: START/END/READY follow the flags, CORRID carries the ID (uint64 max included)', async () => {
    const { send, instances } = setup({ mbs: 1 });
    const max = 2n ** 64n - 1n;
    await send(max, 1, { start: true });
    await send(max, 1, { end: true });
    const rows = instances[0]!.batches.map((b) => b[0]!);
    assert.deepEqual(
      rows.map((r) => [r.start, r.end, r.ready, r.corrId]),
      [
        [1, 0, 1, max],
        [0, 1, 1, max],
      ],
    );
  });
});

describe('sequence batcher: refusals (INVALID_ARG, before queueing, not counted)', () => {
  it('correlation ID 0 or "" and a batch of 2 are refused with Triton’s texts', async () => {
    const { batcher, send, stats } = setup();
    for (const id of [0n, '']) {
      const e = await rejection(send(id, 1, { start: true }));
      assert.equal(e.code, 'INVALID_ARG');
      assert.equal(
        e.message,
        "inference request to model 'm' must specify a non-zero or non-empty correlation ID",
      );
    }
    const two: InferRequest = {
      id: '',
      modelName: 'm',
      modelVersion: '',
      inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [2, 1], data: new Uint8Array(8) }],
      outputs: [],
      parameters: {},
      priority: 0,
      timeoutUs: 0,
      binaryDataOutput: false,
      receivedNs: 0,
      sequence: { correlationId: 9n, start: true, end: false },
    };
    const e = await rejection(batcher.enqueue(two));
    assert.equal(
      e.message,
      "inference request to model 'm' must specify batch-size 1 due to requirements of sequence batcher",
    );
    const json = stats.toJson('m', '1');
    assert.equal(json.inference_stats.fail.count, 0);
    assert.equal(json.inference_stats.success.count, 0);
  });

  it('END twice: the second END is refused (the ID was forgotten at the first)', async () => {
    const { send } = setup();
    await send(5n, 1, { start: true });
    await send(5n, 1, { end: true });
    const e = await rejection(send(5n, 1, { end: true }));
    assert.match(e.message, /sequence 5 to model 'm' must specify the START flag/);
  });

  it('while stopping, sequences in progress finish but new STARTs are refused', async () => {
    const { batcher, send } = setup();
    await send(1n, 1, { start: true });
    batcher.stop();
    const e = await rejection(send(2n, 1, { start: true }));
    assert.equal(e.code, 'UNAVAILABLE');
    assert.match(e.message, /Server is stopping/);
    assert.equal(await send(1n, 1, { end: true }), 2);
    await batcher.drain();
  });
});

describe('sequence batcher: slots, backlog and idle release', () => {
  it('with every slot taken a new sequence waits in the backlog until one ENDs', async () => {
    const { send, instances } = setup({ mbs: 1 });
    await send(1n, 1, { start: true });
    let second: number | undefined;
    const pending = send(2n, 10, { start: true }).then((v) => {
      second = v;
    });
    await flush();
    assert.equal(second, undefined, 'sequence 2 waits: the only slot is sequence 1’s');
    assert.equal(instances[0]!.batches.length, 1);
    assert.equal(await send(1n, 1, { end: true }), 2);
    await pending;
    assert.equal(second, 10);
  });

  it('an idle sequence is released after max_sequence_idle_microseconds (injected clock)', async () => {
    const { send, batcher, clock } = setup({ mbs: 1, idleUs: 2_000 });
    await send(4n, 1, { start: true });
    // A backlogged sequence gets the slot once the idle one is released.
    let waiting: number | undefined;
    const pending = send(8n, 5, { start: true }).then((v) => {
      waiting = v;
    });
    clock.advanceNs(1 * MS);
    await flush();
    assert.equal(batcher.openSequences(), 2, 'not idle yet');
    assert.equal(waiting, undefined);
    clock.advanceNs(1.5 * MS);
    await pending;
    assert.equal(waiting, 5);
    assert.equal(batcher.openSequences(), 1);
    const e = await rejection(send(4n, 1));
    assert.match(e.message, /sequence 4 to model 'm' must specify the START flag/);
    batcher.dispose();
  });

  it('direct: slot i is batch row i; idle lower slots are padded with READY=0 null requests', async () => {
    const { send, instances } = setup({ mbs: 2 });
    const inst = instances[0]!;
    await send(1n, 1, { start: true }); // slot 0
    await send(2n, 2, { start: true }); // slot 1 (slot 0 still held by sequence 1)
    assert.deepEqual(
      inst.batches[1]!.map((r) => [r.ready, r.input, r.corrId]),
      [
        [0, 0, 0n],
        [1, 2, 2n],
      ],
    );
    // Both ready at once: one batch of two real rows in slot order.
    inst.hold = true;
    const both = Promise.all([send(2n, 2), send(1n, 1)]);
    await flush();
    inst.release();
    assert.deepEqual(await both, [4, 2]);
  });

  it('oldest: one batch takes the oldest request of each ready sequence, no padding', async () => {
    const { send, instances, clock } = setup({ mbs: 4, strategy: 'oldest { max_candidate_sequences: 4 }' });
    const inst = instances[0]!;
    inst.hold = true;
    const a = send(1n, 1, { start: true });
    await flush(); // sequence 1 executes alone; the rest queue behind it, 1 ms apart
    clock.advanceNs(MS);
    const b = send(2n, 10, { start: true });
    clock.advanceNs(MS);
    const c = send(1n, 1);
    clock.advanceNs(MS);
    const d = send(3n, 100, { start: true });
    await flush();
    inst.release();
    await a;
    await flush();
    assert.deepEqual(
      inst.batches[1]!.map((r) => [r.corrId, r.input]),
      [
        [2n, 10],
        [1n, 1],
        [3n, 100],
      ],
      'oldest first, one request per sequence, three real rows',
    );
    inst.release();
    assert.deepEqual(await Promise.all([b, c, d]), [10, 2, 100]);
  });

  it('two instances: sequences spread over both instances’ slots', async () => {
    const { send, instances } = setup({ mbs: 1, instances: 2 });
    await send(1n, 1, { start: true });
    await send(2n, 1, { start: true });
    assert.equal(instances[0]!.batches.length, 1);
    assert.equal(instances[1]!.batches.length, 1);
  });
});
