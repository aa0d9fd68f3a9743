import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunResult, serializeRunResult } from '../../../src/report/json-record.ts';
import { runResultJsonSchemaText } from '../../../src/report/run-result-schema.ts';
import { concurrencySweep, requestRateRun } from './fixtures.ts';
import { assertMatchesJsonFile } from './golden.ts';

describe('JSON run record', () => {
  it('round-trips a RunResult exactly', () => {
    for (const run of [concurrencySweep(95), requestRateRun()]) {
      assert.deepEqual(parseRunResult(serializeRunResult(run)), run);
    }
  });

  it('writes schemaVersion and tool first, then keys sorted, independent of insertion order', () => {
    const run = concurrencySweep();
    const text = serializeRunResult(run);
    assert.match(text, /^\{\n {2}"schemaVersion": 1,\n {2}"tool": \{/);
    const reversed = Object.fromEntries(Object.entries(run).reverse()) as typeof run;
    assert.equal(serializeRunResult(reversed), text);
    const top = Object.keys(JSON.parse(text) as object);
    assert.deepEqual(top.slice(2), [...top.slice(2)].sort());
  });

  it('refuses an invalid record with exit code 3, naming the field', () => {
    const broken = JSON.parse(serializeRunResult(concurrencySweep())) as { levels: { value: unknown }[] };
    broken.levels[0]!.value = 'two';
    assert.throws(
      () => parseRunResult(JSON.stringify(broken), 'run.json'),
      (e: Error & { exitCode?: number }) => {
        assert.equal(e.exitCode, 3);
        assert.match(e.message, /run\.json is not a valid run record/);
        assert.match(e.message, /levels\[0\]\.value/);
        return true;
      },
    );
  });

  it('refuses other schema versions and non-JSON text', () => {
    assert.throws(
      () => parseRunResult('{"schemaVersion": 2}'),
      /schemaVersion 2; this inferbench reads schemaVersion 1/,
    );
    assert.throws(() => parseRunResult('not json'), /is not valid JSON/);
  });

  it('the committed JSON Schema equals the generated one', () => {
    const text = runResultJsonSchemaText();
    const schema = JSON.parse(text) as { required: string[]; properties: Record<string, unknown> };
    assert.ok(schema.required.includes('schemaVersion'));
    assert.ok('levels' in schema.properties);
    assertMatchesJsonFile('src/report/run-result.schema.json', text);
  });
});
