import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveSettings } from '../../../src/cli/resolve-settings.ts';
import { benchConfigJsonSchemaText } from '../../../src/config/bench-config-schema.ts';
import { configToFlags } from '../../../src/config/config-flags.ts';
import { loadBenchConfig, parseBenchConfig } from '../../../src/config/load-config.ts';
import { OptionError } from '../../../src/errors.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CONFIG_DIR = join(ROOT, 'bench-configs');

/** The message of the OptionError `fn` throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof OptionError, `expected an OptionError, got ${String(error)}`);
    assert.equal(error.exitCode, 3);
    return error.message;
  }
  assert.fail('expected an error');
}

describe('config file: parsing', () => {
  it('reads YAML with every value kind into the typed config', () => {
    const config = parseBenchConfig(
      [
        'model: text_direction',
        'protocol: grpc',
        'concurrencyRange: {start: 1, end: 8, step: 2}',
        'measurementInterval: 1500',
        'stabilityPercentage: 12.5',
        'shape:',
        '  x: [3, 48, 192]',
        'headers: {X-Team: perf}',
        'thresholds: ["p95_latency<=20ms", "any:throughput>=500"]',
        'embedded:',
        '  configOverrides:',
        '    text_direction: "dynamic_batching { }"',
      ].join('\n'),
      'a.yaml',
    );
    assert.equal(config.model, 'text_direction');
    assert.deepEqual(config.concurrencyRange, { start: 1, end: 8, step: 2 });
    assert.equal(config.stabilityPercentage, 12.5);
    assert.deepEqual(config.shape, { x: [3, 48, 192] });
    assert.deepEqual(config.thresholds, ['p95_latency<=20ms', 'any:throughput>=500']);
  });

  it('reads JSON the same way', () => {
    const config = parseBenchConfig(
      '{\n  "model": "simple",\n  "requestRateRange": "10:40:10"\n}\n',
      'a.json',
    );
    assert.deepEqual(config, { model: 'simple', requestRateRange: '10:40:10' });
  });

  it('an empty file is an empty config (everything from flags and defaults)', () => {
    assert.deepEqual(parseBenchConfig('# nothing yet\n', 'empty.yaml'), {});
  });
});

describe('config file: errors point at file, line, column and key', () => {
  it('a wrong value type in YAML', () => {
    const text = 'model: simple\n\nconcurrencyRange: "1:2"\nmeasurementInterval: fast\n';
    assert.equal(
      errorOf(() => parseBenchConfig(text, 'bench-configs/ci-smoke.yaml')),
      'bench-configs/ci-smoke.yaml:4:22: measurementInterval: expected a positive integer, got "fast"',
    );
  });

  it('a nested value and a list entry', () => {
    const text = [
      'thresholds:',
      '  - p95_latency<=20ms',
      '  - p95_latency<=20parsecs',
      'embedded:',
      '  configOverrides:',
      '    simple: "max_batch_size: lots"',
    ].join('\n');
    const message = errorOf(() => parseBenchConfig(text, 'c.yaml'));
    const lines = message.split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^c\.yaml:3:5: thresholds\[1\]: invalid threshold 'p95_latency<=20parsecs'/);
    assert.match(lines[1]!, /^c\.yaml:6:13: embedded\.configOverrides\.simple: not a valid ModelConfig/);
  });

  it('an unknown key, with a hint for kebab-case flag names', () => {
    const text = 'model: simple\nmeasurement-interval: 100\n';
    assert.equal(
      errorOf(() => parseBenchConfig(text, 'k.yaml')),
      "k.yaml:2:1: (top level): unknown key 'measurement-interval' (did you mean 'measurementInterval'?)",
    );
  });

  it('positions in JSON files too', () => {
    const text = '{\n  "model": "simple",\n  "maxTrials": -2\n}\n';
    assert.equal(
      errorOf(() => parseBenchConfig(text, 'j.json')),
      'j.json:3:16: maxTrials: expected a positive integer, got -2',
    );
  });

  it('syntax errors and duplicate keys', () => {
    assert.match(
      errorOf(() => parseBenchConfig('{"model": "a",\n', 'bad.json')),
      /^bad\.json:\d+:\d+: /,
    );
    assert.match(
      errorOf(() => parseBenchConfig('model: a\nmodel: b\n', 'dup.yaml')),
      /^dup\.yaml:2:1: .*unique/i,
    );
  });

  it('hostile aliases: unresolved, cyclic, expanding past the alias budget (were exit 99 with a stack)', () => {
    assert.equal(
      errorOf(() => parseBenchConfig('model: *nope\n', 'a.yaml')),
      'a.yaml:1:8: the YAML alias *nope has no anchor &nope before it',
    );
    assert.equal(
      errorOf(() => parseBenchConfig('model: ok\nheaders: &h [*h]\n', 'b.yaml')),
      'b.yaml:2:14: the YAML alias *h is inside the node it names (a cycle)',
    );
    // A "billion laughs" document: 10^5 values from 50 aliases.
    const laughs = ['a: &a [1,1,1,1,1,1,1,1,1,1]'];
    for (const [prev, name] of ['ab', 'bc', 'cd', 'de'] as const)
      laughs.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
    assert.match(
      errorOf(() => parseBenchConfig(laughs.join('\n'), 'c.yaml')),
      /^c\.yaml: Excessive alias count/,
    );
  });

  it('a missing file', () => {
    const files = { exists: () => false, readText: () => '' };
    assert.equal(
      errorOf(() => loadBenchConfig('nope.yaml', files)),
      "config file 'nope.yaml' does not exist",
    );
  });
});

describe('config file: JSON Schema', () => {
  it('bench-configs/bench-config.schema.json is up to date (UPDATE_GOLDEN=1 regenerates it)', () => {
    const path = join(CONFIG_DIR, 'bench-config.schema.json');
    const text = benchConfigJsonSchemaText();
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
    const schema = JSON.parse(text) as { properties: Record<string, unknown>; additionalProperties: boolean };
    assert.ok('measurementInterval' in schema.properties && 'thresholds' in schema.properties);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(
      JSON.parse(readFileSync(path, 'utf8')),
      JSON.parse(text),
      'bench-config.schema.json is stale: run UPDATE_GOLDEN=1 npm test -- test/client/config',
    );
  });
});

describe('shipped configs (bench-configs/*.yaml|json)', () => {
  const names = readdirSync(CONFIG_DIR).filter(
    (n) => /\.(ya?ml|json)$/.test(n) && n !== 'bench-config.schema.json',
  );

  it('are the four documented ones', () => {
    for (const name of [
      'quick-start.yaml',
      'ci-smoke.yaml',
      'concurrency-sweep.yaml',
      'request-rate-poisson.yaml',
    ]) {
      assert.ok(names.includes(name), `${name} is missing`);
    }
  });

  for (const name of names) {
    it(`${name} validates, says how to run it, and resolves into a run`, () => {
      const path = join(CONFIG_DIR, name);
      const text = readFileSync(path, 'utf8');
      if (name.endsWith('.yaml')) assert.match(text, new RegExp(`npx inferbench -c bench-configs/${name}`));
      const config = loadBenchConfig(path, { exists: () => true, readText: () => text });
      const run = resolveSettings(configToFlags(config), {
        programName: 'inferbench',
        files: { exists: () => true, readText: () => '' },
      });
      assert.equal(run.target.kind, 'embedded');
      assert.equal(run.settings.modelName, config.model);
    });
  }

  it('ci-smoke is short: 2 levels of 1 s windows, at most 6 windows each, with thresholds', () => {
    const config = parseBenchConfig(readFileSync(join(CONFIG_DIR, 'ci-smoke.yaml'), 'utf8'), 'ci-smoke.yaml');
    const run = resolveSettings(configToFlags(config), {
      programName: 'inferbench',
      files: { exists: () => true, readText: () => '' },
    });
    assert.deepEqual(run.settings.load, { mode: 'concurrency', range: { start: 1, end: 2, step: 1 } });
    const worstCaseMs = 2 * run.settings.measurement.maxTrials * run.settings.measurement.windowMs;
    assert.ok(worstCaseMs <= 15_000, `worst case ${worstCaseMs} ms of windows`);
    assert.ok(run.thresholds.length >= 3);
  });

  it('concurrency-sweep turns dynamic batching on for text_direction', () => {
    const config = parseBenchConfig(
      readFileSync(join(CONFIG_DIR, 'concurrency-sweep.yaml'), 'utf8'),
      'concurrency-sweep.yaml',
    );
    const flags = configToFlags(config);
    assert.match(flags.embeddedConfigOverrides?.text_direction ?? '', /dynamic_batching/);
  });
});
