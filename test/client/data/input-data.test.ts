import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DataStep, resolveGeneratedShape } from '../../../src/data/data-set.ts';
import {
  buildRequestSpecs,
  createRequestSpecs,
  inputSpecsOf,
  loadDataSet,
  type ModelInputsInfo,
  type RequestTemplate,
} from '../../../src/data/input-data.ts';
import { parseDocument, readJsonDataSet } from '../../../src/data/json-input-data.ts';
import { RANDOM_STRING_ALPHABET } from '../../../src/data/seeded-random.ts';
import { parseShapeOption, parseShapeOptions } from '../../../src/data/shape-option.ts';
import { OptionError } from '../../../src/errors.ts';
import { serializeBytesElements } from '../../../src/protocol/bytes-tensor.ts';

const TEMPLATE: RequestTemplate = {
  modelVersion: '',
  outputs: [],
  binaryInputs: true,
  binaryOutputs: true,
  parameters: {},
};

function model(
  inputs: ModelInputsInfo['metadata']['inputs'],
  maxBatchSize = 8,
  extra: Partial<ModelInputsInfo> = {},
): ModelInputsInfo {
  return {
    metadata: {
      name: 'm',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs,
      outputs: [{ name: 'OUT', datatype: 'FP32', shape: [-1, 2] }],
    },
    maxBatchSize,
    ...extra,
  };
}

const SIMPLE = model([
  { name: 'INPUT0', datatype: 'INT32', shape: [-1, 4] },
  { name: 'INPUT1', datatype: 'FP32', shape: [-1, 2] },
]);

function base(source: string | string[]) {
  return { source, shapes: {}, stringLength: 16, batchSize: 1, seed: 7 };
}

function i32(...values: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

function throwsOption(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OptionError, `expected OptionError, got ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.exitCode, 3);
    return true;
  });
}

describe('--shape parsing', () => {
  it('splits at the last colon and keeps colons in the name', () => {
    assert.deepEqual(parseShapeOption('ns:x:3,48,100'), { name: 'ns:x', dims: [3, 48, 100] });
    assert.deepEqual(parseShapeOptions(['a:1', 'b:2,3', 'a:4']), { a: [4], b: [2, 3] });
  });
  it('refuses missing colons, non-positive and non-numeric dims with perf_analyzer texts', () => {
    throwsOption(
      () => parseShapeOption('input_name'),
      'Failed to parse --shape. There must be a colon after input name.',
    );
    throwsOption(
      () => parseShapeOption('input_name=1,2'),
      'Failed to parse --shape. There must be a colon after input name.',
    );
    throwsOption(
      () => parseShapeOption('x:'),
      'Failed to parse --shape. There must be a colon after input name.',
    );
    throwsOption(
      () => parseShapeOption('x:-1,2,3'),
      'Failed to parse --shape. The dimensions of input tensor must be > 0.',
    );
    throwsOption(
      () => parseShapeOption('x:0'),
      'Failed to parse --shape. The dimensions of input tensor must be > 0.',
    );
    throwsOption(() => parseShapeOption('x:1,a'), 'Failed to parse --shape. Invalid value provided: x:1,a');
  });
});

describe('generated input data', () => {
  it('is deterministic by seed and differs across seeds', () => {
    const a = loadDataSet(SIMPLE, base('random')).streams[0]?.[0] as DataStep;
    const b = loadDataSet(SIMPLE, base('random')).streams[0]?.[0] as DataStep;
    const c = loadDataSet(SIMPLE, { ...base('random'), seed: 8 }).streams[0]?.[0] as DataStep;
    assert.deepEqual(a.get('INPUT0')?.data, b.get('INPUT0')?.data);
    assert.notDeepEqual(a.get('INPUT0')?.data, c.get('INPUT0')?.data);
    assert.equal(a.get('INPUT0')?.data.byteLength, 16);
    assert.equal(a.get('INPUT1')?.data.byteLength, 8);
    // perf_analyzer semantics: every input reads the same shared buffer from its start.
    assert.deepEqual(a.get('INPUT1')?.data, a.get('INPUT0')?.data.subarray(0, 8));
    assert.ok(a.get('INPUT0')?.data.some((x) => x !== 0));
  });
  it('zero data is all zeros', () => {
    const step = loadDataSet(SIMPLE, base('zero')).streams[0]?.[0] as DataStep;
    assert.ok(step.get('INPUT0')?.data.every((x) => x === 0));
  });
  it('serialises BYTES elements length-prefixed, from --string-data or the random alphabet', () => {
    const m = model([{ name: 'S', datatype: 'BYTES', shape: [-1, 3] }]);
    const fixed = loadDataSet(m, { ...base('random'), stringData: 'FOOBAR' }).streams[0]?.[0]?.get('S');
    assert.deepEqual(fixed?.data, serializeBytesElements(['FOOBAR', 'FOOBAR', 'FOOBAR']));
    const random =
      loadDataSet(m, { ...base('random'), stringLength: 5 }).streams[0]?.[0]?.get('S')?.data ??
      new Uint8Array();
    assert.equal(random.byteLength, 27);
    const view = new DataView(random.buffer, random.byteOffset);
    for (let k = 0; k < 3; k++) {
      assert.equal(view.getUint32(9 * k, true), 5);
      for (let j = 4; j < 9; j++)
        assert.ok(RANDOM_STRING_ALPHABET.includes(String.fromCharCode(random[9 * k + j] ?? 0)));
    }
  });
  it('names the exact --shape flag for dynamic dims, and applies --shape only to dynamic inputs', () => {
    const m = model([
      { name: 'x', datatype: 'FP32', shape: [-1, 3, 48, -1] },
      { name: 'y', datatype: 'FP32', shape: [-1, 2] },
    ]);
    throwsOption(
      () => loadDataSet(m, base('random')),
      'input x contains dynamic shape, provide shapes to send along with the request: pass --shape x:3,48,<W> (dims without the batch dimension)',
    );
    const step = loadDataSet(m, { ...base('random'), shapes: { x: [3, 48, 100], y: [7] } })
      .streams[0]?.[0] as DataStep;
    assert.deepEqual(step.get('x')?.shape, [3, 48, 100]);
    assert.deepEqual(step.get('y')?.shape, [2]);
    throwsOption(
      () => loadDataSet(m, { ...base('random'), shapes: { x: [4, 48, 100] } }),
      'The supplied shape of [4,48,100] for input "x" is incompatible with the model\'s input shape of [3,48,-1]',
    );
    const nobatch = inputSpecsOf(model([{ name: 'z', datatype: 'FP32', shape: [-1, 5] }], 0))[0];
    throwsOption(
      () => resolveGeneratedShape(nobatch as NonNullable<typeof nobatch>, {}, false),
      'input z contains dynamic shape, provide shapes to send along with the request: pass --shape z:<H>,5',
    );
  });
  it('refuses to generate shape tensors', () => {
    throwsOption(
      () => loadDataSet({ ...SIMPLE, shapeTensors: ['INPUT1'] }, base('zero')),
      "can not generate data for shape tensor 'INPUT1', user-provided data is needed.",
    );
  });
  it('refuses an unknown source with perf_analyzer text', () => {
    throwsOption(
      () => loadDataSet(SIMPLE, base('/no/such/file.json')),
      "Failed to parse --input-data. Unsupported type provided: '/no/such/file.json'. The available options are 'zero', 'random', path to a directory, or a json file.",
    );
  });
});

describe('JSON input data (§6.3)', () => {
  const inputs = inputSpecsOf(SIMPLE);
  const outputs = new Set(['OUT']);
  const parse = (doc: unknown, shapes: Record<string, number[]> = {}, specs = inputs) => {
    const streams: DataStep[][] = [];
    parseDocument(doc as never, specs, outputs, shapes, streams);
    return streams;
  };
  const ok = { INPUT0: [1, 2, 3, 4], INPUT1: [0.5, 1.5] };

  it('reads flat arrays, b64 and content+shape', () => {
    const b64 = Buffer.from(i32(5, 6, 7, 8)).toString('base64');
    const streams = parse({ data: [ok, { INPUT0: { b64 }, INPUT1: { content: [1, 2], shape: [2] } }] });
    assert.equal(streams.length, 1);
    assert.equal(streams[0]?.length, 2);
    assert.deepEqual(streams[0]?.[0]?.get('INPUT0')?.data, i32(1, 2, 3, 4));
    assert.deepEqual(streams[0]?.[1]?.get('INPUT0')?.data, i32(5, 6, 7, 8));
    assert.deepEqual(streams[0]?.[1]?.get('INPUT1')?.data, new Uint8Array(Float32Array.from([1, 2]).buffer));
  });
  it('reads several streams', () => {
    const streams = parse({ data: [[ok, ok], [ok]] });
    assert.deepEqual(
      streams.map((s) => s.length),
      [2, 1],
    );
  });
  it('gives every §6.3 error text', () => {
    const cases: [unknown, string, Record<string, number[]>?][] = [
      [{ notdata: 5 }, "The json file doesn't contain data field"],
      [
        { data: [ok, [ok]] },
        'Inconsistency in input-data provided. Can not have a combination of objects and arrays inside of the Data array',
      ],
      [
        { data: [{ ...ok, INPUT0: { b64: 5 } }] },
        'the value of b64 field should be of type string ( Location stream id: 0, step id: 0)',
      ],
      [
        { data: [{ ...ok, INPUT0: { not_b64: 'AAAA' } }] },
        'missing content field. ( Location stream id: 0, step id: 0)',
      ],
      [{ data: [{ ...ok, INPUT0: null }] }, 'Input data file is malformed.'],
      [
        { data: [{ ...ok, INPUT0: { content: [1, 2, 3, 4], shape: [4.5] } }] },
        'shape values must be integers.',
      ],
      [
        { data: [ok, { INPUT0: [1, 2, 3, 4] }] },
        'missing tensor INPUT1 ( Location stream id: 0, step id: 1)',
      ],
      [
        { data: [{ ...ok, BOGUS: [1] }] },
        "The input or output 'BOGUS' is not found in the model configuration",
      ],
      [
        { data: [{ ...ok, INPUT0: [1, 2, 3] }] },
        'mismatch in the data provided for INPUT0. Expected: 16 bytes, Got: 12 bytes',
      ],
      [
        { data: [{ ...ok, INPUT0: { content: [1, 2, 3, 4], shape: [2, 2] } }] },
        'The supplied shape of [2,2] for input "INPUT0" is incompatible with the model\'s input shape of [4]',
      ],
      [{ data: [{ ...ok, INPUT0: [1.5, 2, 3, 4] }] }, 'unable to find int32 data in json'],
      [
        { data: [ok, ok], validation_data: [{ OUT: [1, 2] }] },
        "The 'validation_data' field doesn't align with 'data' field in the json file",
      ],
    ];
    for (const [doc, message] of cases) throwsOption(() => parse(doc), message);
    const dyn = inputSpecsOf(model([{ name: 'D', datatype: 'INT32', shape: [-1, -1] }]));
    throwsOption(
      () => parse({ data: [{ D: [1, 2, 3] }] }, {}, dyn),
      'The variable-sized tensor "D" with model shape [-1] needs to have its shape fully defined. See the --shape option.',
    );
    assert.deepEqual(parse({ data: [{ D: [1, 2, 3] }] }, { D: [3] }, dyn)[0]?.[0]?.get('D')?.shape, [3]);
    const half = inputSpecsOf(model([{ name: 'H', datatype: 'FP16', shape: [-1, 1] }]));
    throwsOption(
      () => parse({ data: [{ H: [1] }] }, {}, half),
      'Can not use explicit tensor description for fp16 datatype',
    );
  });
  it('lets optional inputs be absent', () => {
    const specs = inputSpecsOf({ ...SIMPLE, optionalInputs: ['INPUT1'] });
    const streams = parse({ data: [{ INPUT0: [1, 2, 3, 4] }] }, {}, specs);
    assert.equal(streams[0]?.[0]?.has('INPUT1'), false);
  });
});

describe('files and directories', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'inferbench-data-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports unparseable JSON and appends flat files to stream 0', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, 'bad json text');
    throwsOption(
      () => readJsonDataSet([bad], inputSpecsOf(SIMPLE), [], {}),
      'failed to parse the specified json file for reading provided data',
    );
    const one = join(dir, 'one.json');
    writeFileSync(one, JSON.stringify({ data: [{ INPUT0: [1, 2, 3, 4], INPUT1: [1, 2] }] }));
    const set = loadDataSet(SIMPLE, base([one, one]));
    assert.equal(set.kind, 'json');
    assert.equal(set.streams[0]?.length, 2);
  });

  it('reads a directory: raw bytes, BYTES lines, and refuses strangers and wrong sizes', () => {
    const m = model([
      { name: 'RAW', datatype: 'INT32', shape: [-1, 2] },
      { name: 'TXT', datatype: 'BYTES', shape: [-1, 2] },
    ]);
    const d = join(dir, 'dir');
    mkdirSync(d);
    writeFileSync(join(d, 'RAW'), i32(3, 4));
    writeFileSync(join(d, 'TXT'), 'hello\nworld\n');
    const step = loadDataSet(m, base(d)).streams[0]?.[0] as DataStep;
    assert.deepEqual(step.get('RAW')?.data, i32(3, 4));
    assert.deepEqual(step.get('TXT')?.data, serializeBytesElements(['hello', 'world']));
    writeFileSync(join(d, 'TXT'), 'a\nb\nc\n');
    throwsOption(() => loadDataSet(m, base(d)), 'provided data for input TXT has 3 elements, expect 2');
    writeFileSync(join(d, 'TXT'), 'a\nb\n');
    writeFileSync(join(d, 'RAW'), new Uint8Array(5));
    throwsOption(() => loadDataSet(m, base(d)), 'provided data for input RAW has byte size 5, expect 8');
    writeFileSync(join(d, 'RAW'), i32(3, 4));
    writeFileSync(join(d, 'stray'), 'x');
    throwsOption(
      () => loadDataSet(m, base(d)),
      "Provided data file 'stray' does not correspond to a valid model input or output.",
    );
  });
});

describe('batching (§6.4)', () => {
  const steps = [1, 2, 3].map(
    (v) => new Map([['INPUT0', { datatype: 'INT32' as const, shape: [1], data: i32(v) }]]),
  );
  const m = model([{ name: 'INPUT0', datatype: 'INT32', shape: [-1, 1] }]);

  it('takes B consecutive steps per request, wrapping, with N/gcd(N,B) distinct requests', () => {
    const specs = buildRequestSpecs(m, { kind: 'json', streams: [steps] }, 2, TEMPLATE);
    assert.equal(specs.length, 3);
    assert.deepEqual(
      specs.map((s) => [...new Int32Array(Uint8Array.from(s.inputs[0]?.data ?? []).buffer)]),
      [
        [1, 2],
        [3, 1],
        [2, 3],
      ],
    );
    assert.deepEqual(specs[0]?.inputs[0]?.shape, [2, 1]);
    assert.equal(specs[0]?.modelName, 'm');
    assert.equal(buildRequestSpecs(m, { kind: 'json', streams: [steps] }, 3, TEMPLATE).length, 1);
  });
  it('refuses different shapes in one batch and batches for a non-batching model', () => {
    const mixed = [
      steps[0] as DataStep,
      new Map([['INPUT0', { datatype: 'INT32' as const, shape: [2], data: i32(1, 2) }]]),
    ];
    assert.throws(
      () => buildRequestSpecs(m, { kind: 'json', streams: [mixed] }, 2, TEMPLATE),
      /^OptionError: can not batch tensors with different shapes together/,
    );
    throwsOption(
      () =>
        createRequestSpecs(
          model([{ name: 'A', datatype: 'INT32', shape: [2] }], 0),
          { ...base('zero'), batchSize: 2 },
          TEMPLATE,
        ),
      'can not specify batch size > 1 as the model does not support batching',
    );
  });
  it('keeps the full shape without a batch dim for non-batching models', () => {
    const { specs } = createRequestSpecs(
      model([{ name: 'A', datatype: 'INT32', shape: [2] }], 0),
      base('zero'),
      TEMPLATE,
    );
    assert.deepEqual(specs[0]?.inputs[0]?.shape, [2]);
  });
});
