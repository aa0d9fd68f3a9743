import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBenchConfig } from '../../../src/config/load-config.ts';
import { runMain } from './harness.ts';

const FILE = [
  'model: simple',
  'url: h:8000',
  'measurementInterval: 1000',
  'maxTrials: 4',
  'progress: false',
  'concurrencyRange: "1:2"',
  'thresholds: ["throughput>0"]',
].join('\n');

describe('-c/--config: precedence command line > file > defaults', () => {
  it('a flag the user typed beats the file, the file beats the defaults', async () => {
    const r = await runMain(['-c', 'bench.yaml', '-p', '2500', '--concurrency-range', '4'], {
      files: { 'bench.yaml': FILE },
    });
    assert.equal(r.code, 0, r.stderr);
    const s = r.resolved!.settings;
    assert.equal(s.measurement.windowMs, 2500, 'flag');
    assert.equal(s.measurement.maxTrials, 4, 'file');
    assert.equal(s.measurement.stabilityThreshold, 0.1, 'default');
    assert.deepEqual(s.load, { mode: 'concurrency', range: { start: 4, end: 4, step: 1 } });
    assert.equal(s.modelName, 'simple');
    assert.equal(s.url, 'h:8000');
    assert.equal(r.resolved!.thresholds[0]?.source, 'throughput>0');
  });

  it("commander's own defaults never override the file (--no-progress's implicit true)", async () => {
    const quietFile = await runMain(['--config', 'bench.yaml'], { files: { 'bench.yaml': FILE } });
    assert.equal(quietFile.resolved!.output.progress, false);
    const loud = await runMain(['-c', 'p.yaml', '-m', 'simple', '-u', 'h:1'], {
      files: { 'p.yaml': 'progress: true' },
    });
    assert.equal(loud.resolved!.output.progress, true);
    const off = await runMain(['-c', 'p.yaml', '--no-progress', '-m', 'simple', '-u', 'h:1'], {
      files: { 'p.yaml': 'progress: true' },
    });
    assert.equal(off.resolved!.output.progress, false);
  });

  it('perf_analyzer takes --config too, and still refuses its deprecated -c', async () => {
    const r = await runMain(['--config', 'bench.yaml'], {
      files: { 'bench.yaml': FILE },
      deps: { programName: 'perf_analyzer' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.resolved!.settings.measurement.maxTrials, 4);
    const old = await runMain(['-m', 's', '-c', '4'], { deps: { programName: 'perf_analyzer' } });
    assert.equal(old.code, 3);
    assert.match(old.stderr, /-c is not supported by inferbench: it is deprecated/);
  });

  it('an invalid file exits 3 before the run, naming file, line, column and key', async () => {
    const r = await runMain(['-c', 'bad.yaml'], {
      files: { 'bad.yaml': 'model: simple\nmaxTrials: many\n' },
    });
    assert.equal(r.code, 3);
    assert.equal(r.stderr, 'error: bad.yaml:2:12: maxTrials: expected a positive integer, got "many"\n');
    assert.equal(r.resolved, undefined);
    const missing = await runMain(['-c', 'none.yaml']);
    assert.equal(missing.code, 3);
    assert.equal(missing.stderr, "error: config file 'none.yaml' does not exist\n");
  });

  it('config overrides need the embedded server', async () => {
    const r = await runMain(['-c', 'o.yaml'], {
      files: {
        'o.yaml': 'model: simple\nurl: h:1\nembedded: {configOverrides: {simple: "max_batch_size: 4"}}',
      },
    });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /embedded\.configOverrides applies to the embedded server only/);
    const ok = await runMain(['-c', 'o.yaml', '--no-progress'], {
      files: { 'o.yaml': 'model: simple\nembedded: {configOverrides: {simple: "max_batch_size: 4"}}' },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.resolved!.target, {
      kind: 'embedded',
      mainJob: false,
      configOverrides: { simple: 'max_batch_size: 4' },
    });
  });
});

describe('print-config', () => {
  it('prints file + flags + defaults as YAML that loads back as the same config', async () => {
    const r = await runMain(['print-config', '-c', 'bench.yaml', '-p', '2500'], {
      files: { 'bench.yaml': FILE },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.resolved, undefined, 'nothing runs');
    assert.match(r.stdout, /^# Effective inferbench config/);
    const config = parseBenchConfig(r.stdout, 'printed.yaml');
    assert.equal(config.model, 'simple');
    assert.equal(config.url, 'h:8000');
    assert.equal(config.measurementInterval, 2500);
    assert.equal(config.maxTrials, 4);
    assert.equal(config.stabilityPercentage, 10);
    assert.equal(config.concurrencyRange, '1:2');
    assert.deepEqual(config.thresholds, ['throughput>0']);
    const keys = Object.keys(config);
    assert.ok(keys.indexOf('model') < keys.indexOf('measurementInterval'), 'schema order');
  });

  it('validates like a run does', async () => {
    const r = await runMain(['print-config', '-m', 'simple', '--threshold', 'latency<1']);
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      /Failed to parse --threshold\. invalid threshold 'latency<1': unknown metric 'latency'/,
    );
  });
});
