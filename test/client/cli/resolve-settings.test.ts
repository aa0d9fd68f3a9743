import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseProfileArgs } from '../../../src/cli/options.ts';
import { bindEmbeddedUrl, hostOf, resolveSettings } from '../../../src/cli/resolve-settings.ts';
import type { ResolvedRun } from '../../../src/cli/run-types.ts';
import { configToFlags, flagsToConfig, mergeFlags } from '../../../src/config/config-flags.ts';
import { parseBenchConfig } from '../../../src/config/load-config.ts';
import { DEFAULT_SEED } from '../../../src/options/profile-options.ts';

const FILES: Record<string, string> = {
  'intervals.txt': '1000\n2000\n\n500\n',
  'empty.txt': '\n',
  'data.json': '{"data": []}',
  'more.json': '{"data": []}',
  'existing.json': '{}',
  'ca.pem': 'pem',
};
const files = { exists: (p: string) => p in FILES, readText: (p: string) => FILES[p]! };

function resolve(argv: string[], programName: 'inferbench' | 'perf_analyzer' = 'perf_analyzer'): ResolvedRun {
  const io = { writeOut: () => {}, writeErr: () => {} };
  return resolveSettings(parseProfileArgs(argv, programName, io), { programName, files });
}

function refuses(
  argv: string[],
  message: string | RegExp,
  programName: 'inferbench' | 'perf_analyzer' = 'perf_analyzer',
) {
  assert.throws(
    () => resolve(argv, programName),
    (e: Error & { exitCode?: number }) => {
      assert.equal(e.exitCode, 3, `exit code for ${argv.join(' ')}`);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

describe("defaults (perf_analyzer's, except real windows)", () => {
  it("resolves -m alone to perf_analyzer's defaults", () => {
    const r = resolve(['-m', 'simple']);
    assert.deepEqual(r.settings, {
      modelName: 'simple',
      modelVersion: '',
      protocol: 'http',
      url: 'localhost:8000',
      batchSize: 1,
      load: { mode: 'concurrency', range: { start: 1, end: 1, step: 1 } },
      search: 'linear',
      async: false,
      streaming: false,
      workerThreads: 1,
      measurement: {
        mode: 'time_windows',
        windowMs: 5000,
        windowRequestCount: 50,
        stabilityThreshold: 0.1,
        stabilityWindows: 3,
        maxTrials: 10,
        latencyThresholdMs: 0,
        warmupRequestCount: 0,
        requestCount: 0,
        singleMeasurement: false,
        delayToleranceUs: 1000,
      },
      requestTimeoutMs: 0,
      maxErrorRate: 1,
      errorRateThreshold: 0.05,
    });
    assert.ok(Object.isFrozen(r.settings) && Object.isFrozen(r.settings.measurement));
    assert.deepEqual(r.target, { kind: 'remote' });
    assert.deepEqual(r.input, {
      source: 'random',
      additionalFiles: [],
      shapes: {},
      stringLength: 128,
      seed: DEFAULT_SEED,
    });
    assert.deepEqual(r.transport, {
      headers: {},
      grpcCompression: 'none',
      binaryInputs: true,
      binaryOutputs: true,
      requestParameters: {},
    });
    assert.equal(r.output.progress, true);
    assert.equal(r.output.verbose, false);
  });

  it('uses port 8001 for gRPC and accepts the protocol in any case', () => {
    const r = resolve(['-m', 'simple', '-i', 'gRPC']);
    assert.equal(r.settings.protocol, 'grpc');
    assert.equal(r.settings.url, 'localhost:8001');
  });

  it('a single concurrency value runs that one level', () => {
    assert.deepEqual(resolve(['-m', 's', '--concurrency-range', '4']).settings.load, {
      mode: 'concurrency',
      range: { start: 4, end: 4, step: 1 },
    });
  });

  it('sync request rate caps in-flight requests at --max-threads (default 4); async and --max-in-flight override', () => {
    const rate = (extra: string[]) =>
      resolve(['-m', 's', '--request-rate-range', '100:200:50', ...extra]).settings.load;
    assert.deepEqual(rate([]), {
      mode: 'request_rate',
      range: { start: 100, end: 200, step: 50 },
      distribution: 'constant',
      seed: DEFAULT_SEED,
      maxInFlight: 4,
      overflow: 'queue',
    });
    assert.equal((rate(['--max-threads', '8']) as { maxInFlight: number }).maxInFlight, 8);
    assert.equal(
      (rate(['--max-in-flight', '8']) as { overflow: string }).overflow,
      'drop',
      'explicit cap drops',
    );
    assert.equal((rate(['-a']) as { maxInFlight: number }).maxInFlight, 0);
    assert.equal((rate(['-a', '--max-in-flight', '64']) as { maxInFlight: number }).maxInFlight, 64);
    assert.equal((rate(['--request-distribution', 'poisson', '--seed', '7']) as { seed: number }).seed, 7);
  });

  it('reads custom intervals (µs, blank lines skipped)', () => {
    assert.deepEqual(resolve(['-m', 's', '--request-intervals', 'intervals.txt']).settings.load, {
      mode: 'custom_intervals',
      intervalsUs: [1000, 2000, 500],
      maxInFlight: 4,
      overflow: 'queue',
    });
    refuses(['-m', 's', '--request-intervals', 'empty.txt'], "file 'empty.txt' is empty");
    refuses(['-m', 's', '--request-intervals', 'nope.txt'], /File 'nope.txt' does not exist/);
  });
});

describe('flag handling and precedence', () => {
  it('maps measurement flags, with --percentile=95 and --percentile 95 alike', () => {
    const m = resolve([
      '-m',
      's',
      '-p',
      '2000',
      '-s',
      '5',
      '-r',
      '20',
      '--percentile=95',
      '--stability-windows',
      '4',
      '-l',
      '50',
      '--warmup-request-count',
      '10',
      '--single-measurement',
    ]).settings.measurement;
    assert.equal(m.windowMs, 2000);
    assert.equal(m.stabilityThreshold, 0.05);
    assert.equal(m.maxTrials, 20);
    assert.equal(m.percentile, 95);
    assert.equal(m.stabilityWindows, 4);
    assert.equal(m.latencyThresholdMs, 50);
    assert.equal(m.warmupRequestCount, 10);
    assert.equal(m.singleMeasurement, true);
    assert.equal(resolve(['-m', 's', '--percentile', '99']).settings.measurement.percentile, 99);
    assert.equal(resolve(['-m', 's', '--percentile', '-1']).settings.measurement.percentile, undefined);
  });

  it('--request-count switches to one count window, and the first value wins', () => {
    const m = resolve(['-m', 's', '--request-count', '100', '--request-count', '5']).settings.measurement;
    assert.equal(m.mode, 'count_windows');
    assert.equal(m.requestCount, 100);
    assert.equal(m.windowRequestCount, 100);
  });

  it('--streaming implies async; -v -v is extra verbose; --quiet silences progress', () => {
    const r = resolve(['-m', 's', '-i', 'grpc', '--streaming', '-v', '-v', '--quiet']);
    assert.equal(r.settings.async, true);
    assert.equal(r.settings.streaming, true);
    assert.equal(r.output.extraVerbose, true);
    assert.equal(r.output.progress, false);
    assert.equal(resolve(['-m', 's', '--no-progress']).output.progress, false);
  });

  it('collects headers, shapes, input files, request parameters and output files', () => {
    const r = resolve([
      '-m',
      's',
      '-i',
      'grpc',
      '-H',
      'A: b',
      '-H',
      'C:d',
      '--shape',
      'x:3,48,320',
      '--input-data',
      'data.json',
      '--input-data',
      'more.json',
      '--request-parameter',
      'priority:1:int',
      '-f',
      'out.csv',
      '--json',
      'run.json',
      '--profile-export-file',
      'export.json',
      '--verbose-csv',
      '--extra-csv-columns',
      '--string-length',
      '16',
    ]);
    assert.deepEqual(r.transport.headers, { A: ' b', C: 'd' });
    assert.deepEqual(r.input.shapes, { x: [3, 48, 320] });
    assert.equal(r.input.source, 'data.json');
    assert.deepEqual(r.input.additionalFiles, ['more.json']);
    assert.equal(r.input.stringLength, 16);
    assert.deepEqual(r.transport.requestParameters, { priority: 1 });
    assert.equal(r.output.csvFile, 'out.csv');
    assert.equal(r.output.jsonFile, 'run.json');
    assert.equal(r.output.profileExportFile, 'export.json');
    assert.equal(r.output.verboseCsv && r.output.extraCsvColumns, true);
    assert.equal(resolve(['-m', 's', '-z']).input.source, 'zero');
  });

  it('metrics default to the host of -u on port 8002', () => {
    assert.deepEqual(
      resolve(['-m', 's', '-u', 'http://gpu-box:8000', '--collect-metrics']).settings.metrics,
      {
        url: 'gpu-box:8002/metrics',
        intervalMs: 1000,
      },
    );
    assert.equal(hostOf('[::1]:8001'), '[::1]');
    refuses(
      ['-m', 's', '--metrics-url', 'x:8002/metrics'],
      'Must specify --collect-metrics when using the --metrics-url option.',
    );
  });

  it('TLS: gRPC with --ssl-grpc-use-ssl, HTTPS from the URL scheme', () => {
    const g = resolve([
      '-m',
      's',
      '-i',
      'grpc',
      '--ssl-grpc-use-ssl',
      '--ssl-grpc-root-certifications-file',
      'ca.pem',
    ]);
    assert.deepEqual(g.transport.tls, { enabled: true, caFile: 'ca.pem' });
    const h = resolve(['-m', 's', '-u', 'https://h:443', '--ssl-https-verify-peer', '0']);
    assert.deepEqual(h.transport.tls, { enabled: true, verifyPeer: false, verifyHost: true });
    refuses(
      ['-m', 's', '--ssl-https-ca-certificates-file', 'missing.pem'],
      /File 'missing.pem' does not exist/,
    );
    refuses(
      ['-m', 's', '--ssl-https-private-key-type', 'DER'],
      /--ssl-https-private-key-type DER is not supported/,
    );
  });
});

describe('embedded target (inferbench without -u)', () => {
  it('no -u and no -m runs the main job', () => {
    const r = resolve([], 'inferbench');
    assert.deepEqual(r.target, { kind: 'embedded', mainJob: true });
    assert.equal(r.settings.modelName, 'text_recognition');
    assert.equal(r.settings.url, '');
    assert.deepEqual(r.settings.load, { mode: 'concurrency', range: { start: 1, end: 4, step: 1 } });
    assert.deepEqual(r.input.shapes, { x: [3, 48, 320] });
  });

  it('flags override the main job', () => {
    const r = resolve(['--concurrency-range', '2', '--shape', 'x:3,48,640', '-p', '1000'], 'inferbench');
    assert.deepEqual(r.settings.load, { mode: 'concurrency', range: { start: 2, end: 2, step: 1 } });
    assert.deepEqual(r.input.shapes, { x: [3, 48, 640] });
    assert.equal(r.settings.measurement.windowMs, 1000);
  });

  it('-m without -u benchmarks that model on the embedded server; --model-repository picks the repository', () => {
    assert.deepEqual(resolve(['-m', 'simple', '--model-repository', 'repo'], 'inferbench').target, {
      kind: 'embedded',
      modelRepository: 'repo',
      mainJob: false,
    });
    assert.deepEqual(resolve(['-m', 'simple', '-u', 'h:8000'], 'inferbench').target, { kind: 'remote' });
    refuses(
      ['-m', 's', '-u', 'h:1', '--model-repository', 'r'],
      /^--model-repository is not supported by inferbench/,
      'inferbench',
    );
    refuses(['-m', 's', '--model-repository', 'r'], /^--model-repository is not supported by inferbench/);
  });

  it('binds the server URL later without unfreezing', () => {
    const r = resolve(['--collect-metrics'], 'inferbench');
    const bound = bindEmbeddedUrl(r, { inferUrl: '127.0.0.1:40001', metricsUrl: '127.0.0.1:40003/metrics' });
    assert.equal(bound.settings.url, '127.0.0.1:40001');
    assert.equal(bound.settings.metrics?.url, '127.0.0.1:40003/metrics');
    assert.ok(Object.isFrozen(bound.settings));
    assert.equal(r.settings.url, '');
  });
});

describe('validation texts', () => {
  it("perf_analyzer's texts", () => {
    refuses([], 'Failed to parse -m (model name). The value must be specified.');
    refuses(
      ['-m', 's', '-i', 'tcp'],
      'Failed to parse -i (protocol). The value should be either HTTP or gRPC.',
    );
    refuses(
      ['-m', 's', '--concurrency-range', '1:2', '--request-rate-range', '10'],
      'Cannot use both Concurrency and RequestRate inference load modes.',
    );
    refuses(
      ['-m', 's', '--request-rate-range', '10', '--request-intervals', 'intervals.txt'],
      'Cannot use both RequestRate and CustomIntervals inference load modes.',
    );
    refuses(
      ['-m', 's', '--concurrency-range', 'a:b'],
      'Failed to parse --concurrency-range. Invalid value provided: a',
    );
    refuses(
      ['-m', 's', '--concurrency-range', '1:2:3:4'],
      'Failed to parse --concurrency-range. The value does not match <start:end:step>.',
    );
    refuses(
      ['-m', 's', '--percentile', '100'],
      'Failed to parse --percentile. The value must be -1 for not reporting or in range (0, 100).',
    );
    refuses(['-m', 's', '--streaming'], 'Streaming is only allowed with gRPC protocol and Triton C API.');
    refuses(['-m', 's', '-i', 'grpc', '--streaming', '--sync'], 'can not use streaming with synchronous API');
    refuses(['-m', 's', '-a', '--sync'], 'Cannot use both --async and --sync.');
    refuses(
      ['-m', 's', '--grpc-compression-algorithm', 'gzip'],
      'Using compression algorithm is only allowed with gRPC protocol.',
    );
    refuses(
      ['-m', 's', '--request-parameter', 'a:1:int'],
      'The --request-parameter option is currently only supported by gRPC protocol.',
    );
    refuses(
      ['-m', 's', '--profile-export-file', 'existing.json'],
      'Failed to parse --profile-export-file. Path must not already exist.',
    );
    refuses(
      ['-m', 's', '--input-data', 'nothing.json'],
      "Failed to parse --input-data. Unsupported type provided: 'nothing.json'. The available options are 'zero', 'random', path to a directory, or a json file.",
    );
    refuses(
      ['-m', 's', '-z', '--data-directory', 'data.json'],
      'The -z flag cannot be set when --data-directory is provided.',
    );
    refuses(['-m', 's', '-b', '0'], 'Failed to parse -b. The value must be > 0.');
    refuses(['-m', 's', '--shape', 'x'], /^Failed to parse --shape\./);
  });

  it('range rules: open end needs -l; binary search needs start, end and -l', () => {
    refuses(
      ['-m', 's', '--concurrency-range', '1:0'],
      /can only be 0 \(search until the latency limit\) when -l/,
    );
    assert.equal(
      resolve(['-m', 's', '--concurrency-range', '1:0', '-l', '10']).settings.load.mode,
      'concurrency',
    );
    refuses(
      ['-m', 's', '--concurrency-range', '4', '--binary-search', '-l', '5'],
      /requires an explicit <start>:<end>/,
    );
    refuses(
      ['-m', 's', '--concurrency-range', '1:0', '--binary-search', '-l', '5'],
      /non-zero and not below the start/,
    );
    refuses(
      ['-m', 's', '--concurrency-range', '1:8', '--binary-search'],
      '--binary-search requires -l (--latency-threshold) to be set.',
    );
    assert.equal(
      resolve(['-m', 's', '--concurrency-range', '1:8', '--binary-search', '-l', '5']).settings.search,
      'binary',
    );
  });

  it('request-count and warmup against multi-value ranges and the first level', () => {
    refuses(
      ['-m', 's', '--concurrency-range', '1:4', '--request-count', '100'],
      /--request-count cannot be used with a multi-value/,
    );
    refuses(
      ['-m', 's', '--concurrency-range', '8', '--request-count', '4'],
      /must be at least the concurrency \(8\)/,
    );
    refuses(
      ['-m', 's', '--request-rate-range', '50', '--request-count', '10'],
      /must be at least the request rate \(50\)/,
    );
    refuses(
      ['-m', 's', '--concurrency-range', '1:4', '--warmup-request-count', '10'],
      /--warmup-request-count cannot be used/,
    );
    refuses(['-m', 's', '--max-in-flight', '4'], /--max-in-flight applies to --request-rate-range/);
  });

  it('refuses unsupported perf_analyzer flags and values by name', () => {
    refuses(
      ['-m', 's', '--periodic-concurrency-range', '1:4'],
      /^--periodic-concurrency-range is not supported by inferbench: periodic concurrency/,
    );
    // Sequence options are supported (they apply once the run sees a sequence model).
    assert.equal(resolve(['-m', 's', '--sequence-length', '20']).sequence?.length, 20);
    refuses(['-m', 's', '--enable-mpi'], /^--enable-mpi is not supported/);
    refuses(['-m', 's', '-t', '4'], /^-t is not supported by inferbench: it is deprecated/);
    refuses(['-m', 's', '--shared-memory', 'cuda'], /^--shared-memory cuda is not supported/);
    refuses(['-m', 's', '--service-kind', 'openai'], /^--service-kind openai is not supported/);
    assert.equal(
      resolve(['-m', 's', '--shared-memory', 'none', '--service-kind', 'triton']).settings.modelName,
      's',
    );
  });
});

describe('--delay-tolerance (one row of the option table, one use)', () => {
  it('sets when an open-loop send counts as delayed: flag, config file and default', () => {
    const rate = ['-m', 'simple', '--request-rate-range', '100'];
    assert.equal(resolve(rate).settings.measurement.delayToleranceUs, 1000, "perf_analyzer's 1 ms");
    assert.equal(resolve([...rate, '--delay-tolerance', '250']).settings.measurement.delayToleranceUs, 250);
    assert.equal(resolve([...rate, '--delay-tolerance', '0']).settings.measurement.delayToleranceUs, 0);
    const fromFile = configToFlags(parseBenchConfig('delayTolerance: 5000\n', 'bench.yaml'));
    const run = resolveSettings(mergeFlags(fromFile, parseProfileArgs(rate, 'inferbench')), {
      programName: 'inferbench',
      files,
    });
    assert.equal(run.settings.measurement.delayToleranceUs, 5000);
    assert.equal(
      flagsToConfig({ delayTolerance: '5000' }).delayTolerance,
      5000,
      'print-config writes it back',
    );
    assert.deepEqual(resolve([...rate, '--delay-tolerance', '250']).warnings, []);
  });

  it('refuses negative, fractional, huge and empty values; warns that concurrency mode ignores it', () => {
    const name = 'Failed to parse --delay-tolerance.';
    for (const [value, message] of [
      ['-1', `${name} The value must be >= 0.`],
      ['1.5', `${name} Invalid value provided: 1.5`],
      ['', `${name} Invalid value provided: `],
      ['9'.repeat(30), `${name} The value must be <= 60000000 (one minute, in µs).`],
    ] as const) {
      refuses(['-m', 'x', '--delay-tolerance', value], message);
    }
    assert.throws(
      () => parseBenchConfig('delayTolerance: -5\n', 'bench.yaml'),
      /delayTolerance: expected an integer >= 0/,
    );
    assert.match(
      resolve(['-m', 'x', '--delay-tolerance', '250']).warnings.join('\n'),
      /--delay-tolerance has no effect in concurrency mode/,
    );
  });
});
