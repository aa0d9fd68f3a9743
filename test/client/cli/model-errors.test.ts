/**
 * Model errors reach the user: a model that failed to load on the embedded server shows the server's reason
 * (exit 6, not "unknown model" / exit 5), and an unknown -m lists the models and suggests the closest name
 * (exit 3). The end-to-end cases run the real CLI path against the real embedded server process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleAddSubModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { main } from '../../../src/cli/main.ts';
import { closestName, editDistance, unknownModelMessage } from '../../../src/cli/model-availability.ts';
import { SIMPLE_CONFIG, type TempRepository, tempRepository } from '../../helpers/real-server.ts';

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

describe('model names: suggestions', () => {
  it('edit distance and the closest name', () => {
    assert.equal(editDistance('simpel', 'simple'), 2);
    assert.equal(editDistance('', 'abc'), 3);
    const names = ['text_recognition', 'text_direction', 'simple', 'identity_fp32'];
    assert.equal(closestName('simpel', names), 'simple');
    assert.equal(closestName('Text_Recognition', names), 'text_recognition');
    assert.equal(closestName('text_recogniton', names), 'text_recognition');
    assert.equal(closestName('identity', names), 'identity_fp32');
    assert.equal(closestName('resnet50', names), undefined, 'nothing close: no misleading suggestion');
    assert.equal(closestName('x', []), undefined);
  });

  it('the message lists the models, sorted, and the suggestion', () => {
    const index = [
      { name: 'simple', version: '1', state: 'READY', reason: '' },
      { name: 'broken', version: '', state: 'UNAVAILABLE', reason: 'bad' },
    ];
    assert.equal(
      unknownModelMessage('simpel', index),
      "unknown model 'simpel': available models: broken, simple. Did you mean -m simple?",
    );
    assert.equal(unknownModelMessage('a', []), "unknown model 'a': the server has no models");
  });
});

describe('model errors through the embedded server', () => {
  let repo: TempRepository;
  before(async () => {
    repo = await tempRepository({
      simple: { config: SIMPLE_CONFIG, onnx: simpleAddSubModel() },
      // Not a protobuf: ONNX Runtime refuses it at load ("Protobuf parsing failed").
      broken: { onnx: new TextEncoder().encode('not an onnx model') },
    });
  });
  after(async () => {
    await repo.remove();
  });

  it("a model that failed to load: the server's reason on stderr, exit 6", async () => {
    const r = await runCli(['-m', 'broken', '--model-repository', repo.dir, '-p', '100', '--no-progress']);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, /model 'broken' is not ready on the server \(it failed to load\)/);
    assert.match(r.stderr, /broken: UNAVAILABLE: .*Protobuf parsing failed/);
    assert.doesNotMatch(r.stderr, /unknown model/);
  });

  it('a mistyped model: the available models and the closest name, exit 3', async () => {
    const r = await runCli(['-m', 'simpel', '--model-repository', repo.dir, '-p', '100', '--no-progress']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /^error: unknown model 'simpel': available models: broken, simple\. Did you mean -m simple\?$/m,
    );
  });
});
