/**
 * How far the generator gets against a trivial server with 1 vs N load threads (closed loop). The server
 * answers every infer at once with a fixed JSON body, in this process (it shares the main thread and the
 * CPU with the generator) or, with --server-process, in a child process. Not part of the test suite:
 *   node --import tsx test/bench/shard-throughput.bench.ts [--concurrency 64] [--seconds 3] [--threads 1,2]
 *     [--server-process]
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { runProfile } from '../../src/profile/profiler.ts';
import { systemClock } from '../../src/protocol/clock.ts';
import type { RequestSpec } from '../../src/transport/client.ts';
import { createTransport } from '../../src/transport/create.ts';
import { concurrency, settingsWith } from '../client/profile/helpers.ts';

const BODY =
  '{"model_name":"m","model_version":"1","outputs":[{"name":"OUT","datatype":"INT32","shape":[1,4],"data":[0,0,0,0]}]}';

function serve(port = 0): Promise<{ port: number; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(BODY);
    });
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() }),
    ),
  );
}

if (process.env.SHARD_BENCH_SERVER === '1') {
  const { port } = await serve();
  process.send?.(port);
} else {
  const { values } = parseArgs({
    options: {
      concurrency: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '3' },
      threads: { type: 'string', default: '1,2' },
      'server-process': { type: 'boolean', default: false },
    },
  });
  const n = Number(values.concurrency);
  let port: number;
  let close: () => void;
  if (values['server-process']) {
    const child = fork(new URL(import.meta.url), [], {
      env: { ...process.env, SHARD_BENCH_SERVER: '1' },
      execArgv: ['--import', 'tsx'],
    });
    port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(Number(m))));
    close = () => child.kill();
  } else {
    ({ port, close } = await serve());
  }
  const spec: RequestSpec = {
    modelName: 'm',
    modelVersion: '',
    inputs: [{ name: 'IN', datatype: 'INT32', shape: [1, 4], data: new Uint8Array(16) }],
    outputs: [],
    binaryInputs: false,
    binaryOutputs: false,
    parameters: {},
  };
  const options = { url: `127.0.0.1:${port}`, connections: n, headers: {} };
  for (const workerThreads of values.threads.split(',').map(Number)) {
    const { client } = createTransport('http', { ...options, clock: systemClock });
    const settings = settingsWith(
      concurrency(n),
      { singleMeasurement: true, windowMs: Number(values.seconds) * 1000, warmupRequestCount: 2000 },
      { workerThreads },
    );
    const outcome = await runProfile(settings, {
      clock: systemClock,
      client,
      requests: [client.prepare(spec)],
      statsAvailable: false,
      shards: { transport: { protocol: 'http', options }, specs: [spec] },
    });
    await client.close();
    const m = outcome.levels[0]?.merged;
    const g = m?.generator;
    console.log(
      `threads ${workerThreads}: ${m?.throughputPerSec.toFixed(0)} infer/s, p50 ${m?.latency.percentilesUs['50']} usec, ` +
        `busiest loop ${((g?.eventLoopUtilization ?? 0) * 100).toFixed(0)}%, process CPU ${g?.cpuCores.toFixed(2)} cores`,
    );
  }
  close();
}
