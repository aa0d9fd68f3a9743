/**
 * Entry of one load shard's worker thread (started by shard-pool.ts). It builds its own client (prepared
 * requests cannot cross threads) with its share of the connections, runs its share of the load through the
 * same load driver as the main thread, and streams compact event batches back; the main thread sorts them
 * into windows. Its clock counts from the main thread's origin so that event times agree.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LoopHealthMonitor } from '../measure/loop-health.ts';
import { systemClockFrom } from '../protocol/clock.ts';
import { createTransport } from '../transport/create.ts';
import { createLoadDriver } from './load-driver.ts';
import { type FromShard, ShardEventBuffer, type ShardInit, shareOf, type ToShard } from './shard-protocol.ts';

const port = parentPort;
if (!port) throw new Error('shard-worker.ts runs only as a worker thread (see shard-pool.ts)');
const init = workerData as ShardInit;
const send = (message: FromShard, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const clock = systemClockFrom(init.originHrtimeNs);
const { client, api } = createTransport(init.transport.protocol, {
  ...init.transport.options,
  clock,
  connections: Math.max(1, shareOf(init.transport.options.connections, init.count, init.index)),
});
client.keepResponses?.(init.keepResponses);
const events = new ShardEventBuffer(clock, send);
const driver = createLoadDriver(init.settings, {
  clock,
  client,
  requests: init.specs.map((spec) => client.prepare(spec)),
  observer: events,
  shard: { index: init.index, count: init.count },
});
const health = new LoopHealthMonitor();
health.start();
const ticker = setInterval(() => events.flush(), init.flushIntervalMs);

async function handle(message: ToShard): Promise<void> {
  switch (message.type) {
    case 'apply':
      await driver.apply(message.value, message.startNs);
      send({ type: 'applied' });
      return;
    case 'drain':
      // An open-loop driver starts a fresh loop on the next apply; stopping it now is the drain.
      await driver.stop();
      send({ type: 'drained' });
      return;
    case 'mark':
      health.sample();
      return;
    case 'flush':
      events.flush({ flushId: message.id, health: health.sample() });
      return;
    case 'keepResponses':
      client.keepResponses?.(message.on);
      return;
    case 'stop':
      await driver.stop();
      clearInterval(ticker);
      events.flush();
      health.stop();
      await Promise.all([client.close(), api.close()]);
      send({ type: 'stopped' });
      return;
  }
}

port.on('message', (message: ToShard) => {
  handle(message).catch((error: unknown) => {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  });
});
send({ type: 'ready' });
