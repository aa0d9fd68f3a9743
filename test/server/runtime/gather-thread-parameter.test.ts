/**
 * Model parameter inferbench.gather_thread: the default per instance kind, hostile values, and a real server
 * whose CPU model asks for the gather thread answering every request of concurrent batches with its own data.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../../embedded-server/src/index.ts';
import { identityModel } from '../../../embedded-server/src/onnx/tiny-models.ts';
import { gatherThreadFor } from '../../../embedded-server/src/runtime/gather-thread-parameter.ts';
import { tempRepository } from '../../helpers/real-server.ts';

const config = (value?: string) =>
  ({
    parameters: value === undefined ? {} : { 'inferbench.gather_thread': { stringValue: value } },
  }) as never;

const IDENTITY_CONFIG = fileURLToPath(
  new URL('../../../embedded-server/models/identity_fp32/config.pbtxt', import.meta.url),
);

describe('model parameter inferbench.gather_thread', () => {
  it('defaults to on for GPU instances and off for CPU ones; true/false override either', () => {
    assert.equal(gatherThreadFor(config(), 'KIND_GPU'), true);
    assert.equal(gatherThreadFor(config(), 'KIND_CPU'), false);
    assert.equal(gatherThreadFor(config(' TRUE '), 'KIND_CPU'), true);
    assert.equal(gatherThreadFor(config('false'), 'KIND_GPU'), false);
  });

  it('refuses anything but true or false', () => {
    for (const bad of ['', 'yes', '1', '0', 'on', 'truee', 'x'.repeat(10_000)]) {
      assert.throws(
        () => gatherThreadFor(config(bad), 'KIND_CPU'),
        /parameter 'inferbench.gather_thread' must be 'true' or 'false'/,
        bad.slice(0, 20),
      );
    }
  });

  it('a CPU model that asks for it loads with a gather thread and answers concurrent batched requests correctly; a bad value leaves the model unavailable', async () => {
    const base = await readFile(IDENTITY_CONFIG, 'utf8');
    const withParameter = (name: string, value: string) =>
      `${base.replace('name: "identity_fp32"', `name: "${name}"`)}
dynamic_batching { max_queue_delay_microseconds: 2000 }
parameters { key: "inferbench.gather_thread" value: { string_value: "${value}" } }
`;
    const repo = await tempRepository({
      gathered: { config: withParameter('gathered', 'true'), onnx: identityModel('FP32') },
      refused: { config: withParameter('refused', 'maybe'), onnx: identityModel('FP32') },
    });
    const verbose: string[] = [];
    const log = { info: () => {}, warn: () => {}, error: () => {}, verbose: (m: string) => verbose.push(m) };
    const server = await startServer({ modelRepository: repo.dir, log });
    try {
      assert.ok(
        verbose.some((l) => l.includes('creating instance gathered_0_0 (KIND_CPU, device 0, gather thread)')),
        'the instance was created with a gather thread',
      );
      const refused = server.core.repositoryIndex(false).find((e) => e.name === 'refused');
      assert.equal(refused?.state, 'UNAVAILABLE');
      assert.match(
        refused?.reason ?? '',
        /'inferbench.gather_thread' must be 'true' or 'false'; got 'maybe'/,
      );
      // Rounds of 24 concurrent requests: batches form, and later ones are staged behind running ones.
      for (let round = 0; round < 5; round++) {
        const replies = await Promise.all(
          Array.from({ length: 24 }, async (_, i) => {
            const values = [round, i + 1, -(i + 1), (i + 1) * 0.5];
            const res = await fetch(`${server.httpUrl}/v2/models/gathered/infer`, {
              method: 'POST',
              body: JSON.stringify({
                inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: values }],
              }),
            });
            return { values, status: res.status, body: (await res.json()) as never };
          }),
        );
        for (const r of replies) {
          assert.equal(r.status, 200);
          assert.deepEqual((r.body as { outputs: { data: number[] }[] }).outputs[0]?.data, r.values);
        }
      }
    } finally {
      await server.stop({ timeoutMs: 5000 });
      await repo.remove();
    }
  });
});
