/**
 * The built-in repeat backend's config rules (Triton's repeat backend ValidateModelConfig texts) and its
 * place among the servable models: hostile configs are refused with a clear message at load time.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateRepeatConfig } from '../../../embedded-server/src/decoupled/repeat-backend.ts';
import { parseModelConfigText } from '../../../embedded-server/src/repository/model-config.ts';
import { assertServable } from '../../../embedded-server/src/repository/servable.ts';
import { packageInfo } from '../../../src/protocol/package-info.ts';

const BUNDLED = readFileSync(
  join(packageInfo().root, 'embedded-server', 'models', 'repeat', 'config.pbtxt'),
  'utf8',
);

const parse = (text: string) => parseModelConfigText(text, 'config.pbtxt');

describe('repeat backend config', () => {
  it('accepts the bundled config (decoupled, backend repeat, no model file)', () => {
    const config = parse(BUNDLED);
    assert.equal(config.backend, 'repeat');
    assert.equal(config.modelTransactionPolicy?.decoupled, true);
    assert.doesNotThrow(() => assertServable(config));
  });

  const cases: [string, string, string][] = [
    [
      'batching',
      BUNDLED.replace('max_batch_size: 0', 'max_batch_size: 4'),
      'repeat backend only supports models with max_batch_size == 0',
    ],
    [
      'not decoupled',
      BUNDLED.replace('decoupled: true', 'decoupled: false'),
      "model 'repeat': the repeat backend sends several responses per request and needs model_transaction_policy { decoupled: true }",
    ],
    [
      'renamed input',
      BUNDLED.replace('name: "DELAY"', 'name: "PAUSE"'),
      'expected second input tensor name to be DELAY, got PAUSE',
    ],
    [
      'wrong datatype',
      BUNDLED.replace(/name: "IN"\n {4}data_type: TYPE_INT32/, 'name: "IN"\n    data_type: TYPE_FP32'),
      'expected IN datatype to be INT32, got TYPE_FP32',
    ],
    [
      'WAIT of two',
      BUNDLED.replace(
        /name: "WAIT"\n {4}data_type: TYPE_UINT32\n {4}dims: \[ 1 \]/,
        'name: "WAIT"\n    data_type: TYPE_UINT32\n    dims: [ 2 ]',
      ),
      'expected WAIT shape to be [1], got [2]',
    ],
  ];
  for (const [what, text, message] of cases) {
    it(`refuses a config with ${what}`, () => {
      assert.throws(() => validateRepeatConfig(parse(text)), { message });
    });
  }

  it('refuses a decoupled ONNX model with a message naming the repeat backend', () => {
    const onnx = BUNDLED.replace('backend: "repeat"', 'platform: "onnxruntime_onnx"\nbackend: "onnxruntime"');
    assert.throws(() => assertServable(parse(onnx)), /decoupled ONNX models are not supported/);
  });
});
