import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BatchCandidate,
  formDynamicBatch,
} from '../../../embedded-server/src/scheduler/batch-formation.ts';
import { OrderedRelease } from '../../../embedded-server/src/scheduler/ordered-release.ts';
import {
  effectiveTimeoutUs,
  resolveQueuePolicies,
} from '../../../embedded-server/src/scheduler/queue-policy.ts';
import { createSignatureFn } from '../../../embedded-server/src/scheduler/shape-signature.ts';
import { OutputSplitError, splitBatchOutputs } from '../../../embedded-server/src/scheduler/split-outputs.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { config, identityConfig, int32s } from './fake-instance.ts';

function bytesTensor(name: string, shape: number[], elements: string[]): Tensor {
  const parts = elements.map((s) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return Buffer.concat([len, b]);
  });
  return { name, datatype: 'BYTES', shape, data: new Uint8Array(Buffer.concat(parts)) };
}

function strings(t: Tensor): string[] {
  const out: string[] = [];
  const buf = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (let at = 0; at < buf.length; ) {
    const n = buf.readUInt32LE(at);
    out.push(buf.subarray(at + 4, at + 4 + n).toString());
    at += 4 + n;
  }
  return out;
}

describe('splitBatchOutputs', () => {
  it('splits fixed-size outputs into zero-copy views by each request batch size', () => {
    const data = new Uint8Array(new Int32Array([1, 1, 2, 2, 2, 2, 3, 3]).buffer);
    const [a, b, c] = splitBatchOutputs([{ name: 'O', datatype: 'INT32', shape: [4, 2], data }], [1, 2, 1]);
    assert.deepEqual(int32s(a![0]!), [1, 1]);
    assert.deepEqual(b![0]!.shape, [2, 2]);
    assert.deepEqual(int32s(b![0]!), [2, 2, 2, 2]);
    assert.deepEqual(int32s(c![0]!), [3, 3]);
    assert.equal(b![0]!.data.buffer, data.buffer);
    assert.equal(b![0]!.data.byteOffset, 8);
  });

  it('splits BYTES outputs by walking the length prefixes', () => {
    const t = bytesTensor('S', [3, 2], ['a', 'bb', '', 'dddd', 'e', 'ff']);
    const [x, y] = splitBatchOutputs([t], [1, 2]);
    assert.deepEqual(strings(x![0]!), ['a', 'bb']);
    assert.deepEqual(strings(y![0]!), ['', 'dddd', 'e', 'ff']);
    assert.deepEqual(y![0]!.shape, [2, 2]);
  });

  it('refuses outputs whose batch dimension or size does not add up', () => {
    const t: Tensor = { name: 'O', datatype: 'FP32', shape: [3, 1], data: new Uint8Array(12) };
    assert.throws(() => splitBatchOutputs([t], [1, 1]), OutputSplitError);
    assert.throws(() => splitBatchOutputs([{ ...t, data: new Uint8Array(8) }], [2, 1]), OutputSplitError);
    assert.throws(() => splitBatchOutputs([bytesTensor('S', [2], ['a'])], [1, 1]), OutputSplitError);
  });
});

describe('queue policies', () => {
  it('overrides the timeout only with a non-zero request value smaller than a non-zero default', () => {
    const policy = { timeoutAction: 'REJECT', maxQueueSize: 0 } as const;
    const rows: [number, boolean, number, number][] = [
      // default µs, override allowed, request µs → effective µs
      [1000, true, 100, 100],
      [1000, true, 5000, 1000],
      [1000, true, 0, 1000],
      [1000, false, 100, 1000],
      [0, true, 100, 0],
    ];
    for (const [defaultTimeoutUs, allowTimeoutOverride, requestUs, expected] of rows) {
      assert.equal(
        effectiveTimeoutUs({ ...policy, defaultTimeoutUs, allowTimeoutOverride }, requestUs),
        expected,
      );
    }
  });

  it('maps priorities onto levels and allows prefetching only without policies', () => {
    const cfg = config(`max_batch_size: 1
      input [ { name: "I" data_type: TYPE_FP32 dims: [ 1 ] } ]
      output [ { name: "O" data_type: TYPE_FP32 dims: [ 1 ] } ]
      dynamic_batching {
        priority_levels: 18446744073709551615
        default_priority_level: 4294967295
        priority_queue_policy: [ { key: 4294967296 value: { timeout_action: DELAY max_queue_size: 10 } } ]
      }`);
    const batching = cfg.schedulingChoice.case === 'dynamicBatching' ? cfg.schedulingChoice.value : undefined;
    const p = resolveQueuePolicies(batching);
    assert.equal(p.levelOf(0), 4294967295);
    assert.equal(p.levelOf(7), 7);
    assert.equal(p.policyOf(4294967296).maxQueueSize, 10);
    assert.equal(p.policyOf(4294967296).timeoutAction, 'DELAY');
    assert.equal(p.policyOf(3).maxQueueSize, 0);
    assert.equal(p.supportsPrefetch, false);
    assert.equal(resolveQueuePolicies(undefined).supportsPrefetch, true);
    assert.equal(resolveQueuePolicies(undefined).levelOf(5), 1);
  });
});

describe('shape signatures', () => {
  it('is undefined for fixed-shape models and compares variable dims without the batch dim', () => {
    assert.equal(createSignatureFn(identityConfig('max_batch_size: 4')), undefined);
    const sig = createSignatureFn(identityConfig('max_batch_size: 4', '[ -1 ]'))!;
    const t = (shape: number[]): Tensor[] => [
      { name: 'INPUT0', datatype: 'INT32', shape, data: new Uint8Array(0) },
    ];
    assert.equal(sig(t([1, 3])), sig(t([5, 3])));
    assert.notEqual(sig(t([1, 3])), sig(t([1, 4])));
  });

  it('ignores allow_ragged_batch inputs', () => {
    const cfg = config(`max_batch_size: 4
      input [ { name: "R" data_type: TYPE_FP32 dims: [ -1 ] allow_ragged_batch: true } ]
      output [ { name: "O" data_type: TYPE_FP32 dims: [ -1 ] } ]`);
    assert.equal(createSignatureFn(cfg), undefined);
  });
});

describe('formDynamicBatch', () => {
  const at = (enqueueNs: number, batchSize = 1, signature = ''): BatchCandidate => ({
    batchSize,
    enqueueNs,
    signature,
  });
  const base = {
    payloadBatchSize: 0,
    payloadSignature: '',
    preferredBatchSizes: [4],
    maxBatchSize: 8,
    delayNs: 0,
    nowNs: 100,
    closestDeadlineNs: 0,
    checkInputs: false,
  };

  it('waits the rest of the delay, or less when a queue deadline comes first', () => {
    assert.deepEqual(formDynamicBatch({ ...base, candidates: [at(40), at(90)], delayNs: 100 }), {
      kind: 'wait',
      waitNs: 40,
      saturated: false,
    });
    assert.deepEqual(
      formDynamicBatch({ ...base, candidates: [at(40)], delayNs: 100, closestDeadlineNs: 110 }),
      {
        kind: 'wait',
        waitNs: 10,
        saturated: false,
      },
    );
  });

  it('does not split a request: a batch that would pass max_batch_size is sent as it is', () => {
    assert.deepEqual(
      formDynamicBatch({ ...base, candidates: [at(0, 3), at(0, 6)], preferredBatchSizes: [8] }),
      {
        kind: 'send',
        count: 1,
        saturated: true,
      },
    );
  });

  it('grows a queued payload at once when it is not at a preferred size', () => {
    assert.deepEqual(
      formDynamicBatch({ ...base, candidates: [at(95)], payloadBatchSize: 1, delayNs: 1000 }),
      {
        kind: 'send',
        count: 1,
        saturated: false,
      },
    );
  });
});

describe('OrderedRelease', () => {
  it('releases in reservation order and holds later completions', () => {
    const o = new OrderedRelease();
    const seen: number[] = [];
    const [a, b, c] = [o.reserve(), o.reserve(), o.reserve()];
    o.complete(c, () => seen.push(c));
    o.complete(b, () => seen.push(b));
    assert.equal(seen.length, 0);
    assert.equal(o.heldCount(), 2);
    o.complete(a, () => seen.push(a));
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(o.heldCount(), 0);
  });
});
