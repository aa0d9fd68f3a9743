import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../../embedded-server/src/index.ts';
import { defaultIngressThreads } from '../../embedded-server/src/ingress/ingress-pool.ts';
import { runServeCommand } from '../../embedded-server/src/serve.ts';
import { parseServeArgs } from '../../embedded-server/src/serve-options.ts';
import { http, postJson } from '../helpers/real-server.ts';

describe('serve options', () => {
  it('defaults: Triton ports, loopback host, 30 s exit timeout, strict readiness', () => {
    const parsed = parseServeArgs([]);
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.deepEqual(
      [parsed.options.host, parsed.options.httpPort, parsed.options.grpcPort, parsed.options.metricsPort],
      ['127.0.0.1', 8000, 8001, 8002],
    );
    assert.equal(parsed.options.exitTimeoutSecs, 30);
    assert.equal(parsed.options.strictReadiness, true);
    assert.equal(parsed.options.modelRepository, undefined);
  });

  it('parses every flag', () => {
    const parsed = parseServeArgs([
      '--model-repository',
      '/m',
      '--host',
      '0.0.0.0',
      '--http-port',
      '0',
      '--grpc-port',
      '9001',
      '--metrics-port',
      '9002',
      '--exit-timeout-secs',
      '5',
      '--cache-config',
      'local,size=1048576',
      '--disable-auto-complete-config',
      '--strict-readiness',
      'false',
      '--log-verbose',
      '1',
      '--http-thread-count',
      '3',
      '--model-control-mode',
      'explicit',
      '--load-model',
      'simple',
      '--max-instances-per-model',
      '8',
      '--max-instances-total',
      '16',
      '--http-max-input-size',
      '1000',
      '--http-max-json-size',
      '500',
      '--grpc-max-message-size',
      '2000',
      '--http-headers-timeout-secs',
      '1.5',
      '--http-request-timeout-secs',
      '3',
      '--idle-timeout-secs',
      '4',
      '--max-connections',
      '5',
    ]);
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.deepEqual(
      { ...parsed.options },
      {
        modelRepository: '/m',
        host: '0.0.0.0',
        httpPort: 0,
        grpcPort: 9001,
        metricsPort: 9002,
        exitTimeoutSecs: 5,
        cacheConfig: { kind: 'local', sizeBytes: 1048576 },
        disableAutoCompleteConfig: true,
        strictReadiness: false,
        logVerbose: 1,
        modelControlMode: 'explicit',
        loadModels: ['simple'],
        repositoryPollSecs: 15,
        httpThreadCount: 3,
        maxInstancesPerModel: 8,
        maxInstancesTotal: 16,
        limits: {
          httpMaxInputBytes: 1000,
          httpMaxJsonBytes: 500,
          grpcMaxMessageBytes: 2000,
          headersTimeoutMs: 1500,
          requestTimeoutMs: 3000,
          idleTimeoutMs: 4000,
          maxConnections: 5,
        },
      },
    );
  });

  it('--http-thread-count: 0 to 256, default half the cores available (0 below 4); anything else is refused', () => {
    const parsed = parseServeArgs([]);
    assert.ok(parsed.kind === 'run');
    assert.equal(parsed.options.httpThreadCount, defaultIngressThreads(availableParallelism()));
    assert.deepEqual(
      [1, 2, 3, 4, 5, 16].map((cores) => defaultIngressThreads(cores)),
      [0, 0, 0, 2, 2, 8],
    );
    const zero = parseServeArgs(['--http-thread-count', '0']);
    assert.ok(zero.kind === 'run');
    assert.equal(zero.options.httpThreadCount, 0);
    for (const bad of ['-1', '257', '1.5', '', 'many', '1e3', '99999999999999999999']) {
      assert.throws(
        () => parseServeArgs(['--http-thread-count', bad]),
        /--http-thread-count.*expected an integer 0-256/,
        bad,
      );
    }
  });

  it('bad options exit with code 3 and a clear message; --help exits 0 and mentions the host default', async () => {
    let err = '';
    assert.equal(
      await runServeCommand(['--http-port', '70000'], {
        stderr: (t) => {
          err += t;
        },
      }),
      3,
    );
    assert.match(err, /--http-port/);
    err = '';
    assert.equal(
      await runServeCommand(['--cache-config', 'redis'], {
        stderr: (t) => {
          err += t;
        },
      }),
      3,
    );
    assert.match(err, /cache/);
    err = '';
    assert.equal(
      await runServeCommand(['--model-repository', '/definitely/not/here'], {
        stderr: (t) => {
          err += t;
        },
      }),
      3,
    );
    assert.match(err, /is not a directory/);
    let out = '';
    assert.equal(
      await runServeCommand(['--help'], {
        stdout: (t) => {
          out += t;
        },
      }),
      0,
    );
    assert.match(out, /127\.0\.0\.1/);
    assert.match(out, /0\.0\.0\.0/);
  });
});

describe('serve with the embedded repository', () => {
  let out = '';
  let err = '';
  let server: RunningServer | undefined;
  let signal: ((s: string) => void) | undefined;
  let exitCode: Promise<number>;
  const exits: number[] = [];

  before(async () => {
    let started: (s: RunningServer) => void = () => undefined;
    const up = new Promise<RunningServer>((resolve) => {
      started = resolve;
    });
    exitCode = runServeCommand(
      ['--http-port', '0', '--grpc-port', '0', '--metrics-port', '0', '--exit-timeout-secs', '10'],
      {
        stdout: (t) => {
          out += t;
        },
        stderr: (t) => {
          err += t;
        },
        exit: (c) => {
          exits.push(c);
        },
        onSignal: (h) => {
          signal = h;
          return () => {
            signal = undefined;
          };
        },
        onStarted: started,
      },
    );
    server = await Promise.race([
      up,
      exitCode.then((c) => {
        throw new Error(`serve exited with ${c}: ${err}`);
      }),
    ]);
  });

  after(async () => {
    if (signal) signal('SIGTERM');
    await exitCode;
  });

  it("prints Triton's three startup lines with the real ports", () => {
    assert.ok(server);
    assert.ok(out.includes(`Started GRPCInferenceService at 127.0.0.1:${server.grpcPort}\n`));
    assert.ok(out.includes(`Started HTTPService at 127.0.0.1:${server.httpPort}\n`));
    assert.ok(out.includes(`Started Metrics Service at 127.0.0.1:${server.metricsPort}\n`));
    assert.match(err, /text_direction\s*│?\s*\|?\s*1/);
  });

  it('serves text_direction (a real PP-OCR classifier): probabilities of 0° and 180°', async () => {
    assert.ok(server);
    const n = 3 * 48 * 192;
    const r = await postJson(`${server.httpUrl}/v2/models/text_direction/infer`, {
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, 3, 48, 192],
          data: Array.from({ length: n }, (_, i) => (i % 7) / 7),
        },
      ],
    });
    assert.equal(r.status, 200, r.text);
    const out0 = (r.json() as { outputs: { shape: number[]; data: number[] }[] }).outputs[0];
    assert.deepEqual(out0?.shape, [1, 2]);
    const [p0, p180] = out0?.data ?? [];
    assert.ok(Math.abs((p0 ?? 0) + (p180 ?? 0) - 1) < 1e-4, 'softmax output sums to 1');
  });

  it('SIGTERM stops gracefully with exit code 0', async () => {
    assert.ok(signal);
    signal('SIGTERM');
    assert.equal(await exitCode, 0);
    assert.deepEqual(exits, []);
    assert.ok(server);
    await assert.rejects(http(`${server.httpUrl}/v2/health/live`));
  });
});
