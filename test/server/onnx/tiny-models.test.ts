import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  buildOnnxModel,
  failingModel,
  identityModel,
  OnnxDataType,
  simpleAddSubModel,
  slowIdentityModel,
} from '../../../embedded-server/src/onnx/tiny-models.ts';

const QUIET = { logSeverityLevel: 4, intraOpNumThreads: 1 } as const;

async function session(bytes: Uint8Array): Promise<InferenceSession> {
  return InferenceSession.create(bytes, QUIET);
}

describe('simpleAddSubModel (Triton "simple")', () => {
  it('declares INT32 [batch,16] inputs and outputs with a symbolic batch dim', async () => {
    const s = await session(simpleAddSubModel());
    assert.deepEqual(s.inputNames, ['INPUT0', 'INPUT1']);
    assert.deepEqual(s.outputNames, ['OUTPUT0', 'OUTPUT1']);
    for (const m of [...s.inputMetadata, ...s.outputMetadata]) {
      assert.ok(m.isTensor);
      assert.equal(m.type, 'int32');
      assert.deepEqual(m.shape, ['batch', 16]);
    }
    await s.release();
  });

  it('computes OUTPUT0 = INPUT0 + INPUT1 and OUTPUT1 = INPUT0 - INPUT1 for a batch of 2', async () => {
    const s = await session(simpleAddSubModel());
    const a = Int32Array.from({ length: 32 }, (_, i) => i * 3 - 7);
    const b = Int32Array.from({ length: 32 }, (_, i) => 100 - i);
    const out = await s.run({
      INPUT0: new Tensor('int32', a, [2, 16]),
      INPUT1: new Tensor('int32', b, [2, 16]),
    });
    assert.deepEqual(out.OUTPUT0?.dims, [2, 16]);
    assert.deepEqual(
      out.OUTPUT0?.data,
      a.map((x, i) => x + (b[i] as number)),
    );
    assert.deepEqual(
      out.OUTPUT1?.data,
      a.map((x, i) => x - (b[i] as number)),
    );
    await s.release();
  });
});

describe('identityModel', () => {
  const cases = [
    { datatype: 'INT32', tensor: () => new Tensor('int32', Int32Array.from([1, -2, 3, 2147483647]), [2, 2]) },
    {
      datatype: 'FP32',
      tensor: () => new Tensor('float32', Float32Array.from([1.5, -0, Number.NaN, 3e38]), [2, 2]),
    },
    // 1.0, 2.0, -0.5, +inf as IEEE half bits
    {
      datatype: 'FP16',
      tensor: () => new Tensor('float16', Uint16Array.from([0x3c00, 0x4000, 0xb800, 0x7c00]), [2, 2]),
    },
    { datatype: 'BYTES', tensor: () => new Tensor('string', ['a', '', 'ünï', 'longer string'], [2, 2]) },
    { datatype: 'BOOL', tensor: () => new Tensor('bool', Uint8Array.from([1, 0, 0, 1]), [2, 2]) },
    {
      datatype: 'INT64',
      tensor: () => new Tensor('int64', BigInt64Array.from([1n, -(2n ** 62n), 0n, 5n]), [2, 2]),
    },
    { datatype: 'UINT8', tensor: () => new Tensor('uint8', Uint8Array.from([0, 255, 7, 8]), [2, 2]) },
    {
      datatype: 'FP64',
      tensor: () => new Tensor('float64', Float64Array.from([Math.PI, -1, 0, 1e300]), [2, 2]),
    },
  ] as const;
  for (const c of cases) {
    it(`${c.datatype}: OUTPUT0 is INPUT0, same type and shape`, async () => {
      const s = await session(identityModel(c.datatype));
      const input = c.tensor();
      const out = (await s.run({ INPUT0: input })).OUTPUT0 as Tensor;
      assert.equal(out.type, input.type);
      assert.deepEqual(out.dims, [2, 2]);
      assert.deepEqual(out.data, input.data);
      await s.release();
    });
  }

  it('honours custom dims (fixed and symbolic)', async () => {
    const s = await session(identityModel('FP32', [-1, 'width', 3]));
    const meta = s.inputMetadata[0];
    assert.ok(meta?.isTensor);
    assert.deepEqual(meta.shape.slice(1), ['width', 3]);
    await s.release();
  });
});

describe('slowIdentityModel', () => {
  it('returns its input unchanged after a measurable, batch-independent amount of work', async () => {
    const fast = await InferenceSession.create(slowIdentityModel({ iterations: 1 }), {
      intraOpNumThreads: 1,
    });
    const slow = await InferenceSession.create(slowIdentityModel({ iterations: 60 }), {
      intraOpNumThreads: 1,
    });
    const x = new Tensor('float32', Float32Array.from([1, -2, 3.25, 1e-3, 5, 6]), [2, 3]);
    const timeIt = async (s: InferenceSession) => {
      await s.run({ INPUT0: x }); // warm-up
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 3; i++) await s.run({ INPUT0: x });
      return Number(process.hrtime.bigint() - t0) / 3;
    };
    const out = (await slow.run({ INPUT0: x })).OUTPUT0 as Tensor;
    assert.deepEqual(out.data, x.data);
    assert.deepEqual(out.dims, [2, 3]);
    const fastNs = await timeIt(fast);
    const slowNs = await timeIt(slow);
    assert.ok(slowNs > 5 * fastNs, `60 iterations (${slowNs} ns) should cost far more than 1 (${fastNs} ns)`);
    await fast.release();
    await slow.release();
  });

  it('rejects fewer than one iteration', () => {
    assert.throws(() => slowIdentityModel({ iterations: 0 }), RangeError);
  });
});

describe('failingModel', () => {
  it('loads, runs for width 4 and fails inside ORT for any other width', async () => {
    const s = await session(failingModel());
    const ok = await s.run({
      INPUT0: new Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4]),
    });
    assert.deepEqual(ok.OUTPUT0?.dims, [2, 4]);
    assert.deepEqual(ok.OUTPUT0?.data, Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    await assert.rejects(
      s.run({ INPUT0: new Tensor('float32', new Float32Array(3), [1, 3]) }),
      /cannot be reshaped to the requested shape/,
    );
    await s.release();
  });
});

describe('buildOnnxModel', () => {
  it('encodes int, ints, float and tensor attributes and initializers that ORT honours', async () => {
    // y = LeakyRelu(Transpose(x, perm=[1,0]) + bias, alpha=0.5) * Constant(2)
    const bias = Float32Array.from([10, 20]);
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', elemType: OnnxDataType.FLOAT, dims: [2, 'n'] }],
      outputs: [{ name: 'y', elemType: OnnxDataType.FLOAT, dims: ['n', 2] }],
      initializers: [
        { name: 'bias', dataType: OnnxDataType.FLOAT, dims: [2], rawData: new Uint8Array(bias.buffer) },
      ],
      nodes: [
        {
          opType: 'Transpose',
          inputs: ['x'],
          outputs: ['t'],
          attributes: { perm: { kind: 'ints', value: [1, 0] } },
        },
        { opType: 'Add', inputs: ['t', 'bias'], outputs: ['a'] },
        {
          opType: 'LeakyRelu',
          inputs: ['a'],
          outputs: ['l'],
          attributes: { alpha: { kind: 'float', value: 0.5 } },
        },
        {
          opType: 'Constant',
          inputs: [],
          outputs: ['two'],
          attributes: {
            value: {
              kind: 'tensor',
              value: {
                name: 'two',
                dataType: OnnxDataType.FLOAT,
                dims: [],
                rawData: new Uint8Array(Float32Array.of(2).buffer),
              },
            },
          },
        },
        { opType: 'Mul', inputs: ['l', 'two'], outputs: ['y'] },
      ],
      opset: 17,
    });
    const s = await session(bytes);
    // x = [[-30, 1, 2], [-50, 3, 4]] → t = [[-30,-50],[1,3],[2,4]] → +bias → [[-20,-30],[11,23],[12,24]]
    const x = new Tensor('float32', Float32Array.from([-30, 1, 2, -50, 3, 4]), [2, 3]);
    const y = (await s.run({ x })).y as Tensor;
    assert.deepEqual(y.dims, [3, 2]);
    assert.deepEqual(y.data, Float32Array.from([-20, -30, 22, 46, 24, 48]));
    await s.release();
  });

  it('refuses opsets below 13', () => {
    assert.throws(() => buildOnnxModel({ inputs: [], outputs: [], nodes: [], opset: 12 }), RangeError);
  });
});
