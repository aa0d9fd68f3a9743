/**
 * Load sharding over worker threads (--worker-threads), so that one event loop is not the generator's
 * bottleneck. The pool is the profiler's LoadDriver: it starts the shards (load/shard-worker.ts), hands each
 * level to all of them (each runs its perf_analyzer share), and feeds their event batches into `windows`,
 * which the profiler uses in place of a WindowRecorder. Workers are terminated by `stop()`, and at once when
 * any of them fails.
 */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ExitCode, InferbenchError } from '../errors.ts';
import type { LoopHealthSample } from '../measure/loop-health.ts';
import { type Clock, systemClockOrigin } from '../protocol/clock.ts';
import type { RequestSpec } from '../transport/client.ts';
import type { LoadDriver } from './load-driver.ts';
import type { LoadDriverSettings } from './load-settings.ts';
import type { FromShard, ShardInit, ShardTransport, ToShard } from './shard-protocol.ts';
import { ShardWindows } from './shard-windows.ts';

/** The worker script next to this module: `.ts` under tsx, `.js` in the compiled dist/. */
const WORKER_URL = new URL(`./shard-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

/**
 * How to start a shard worker. Node 20 workers do not inherit the loader hooks that `--import tsx`
 * registered, so from TypeScript sources a small bootstrap registers tsx in the worker before importing it.
 */
function workerEntry(): { script: string | URL; evaluate: boolean } {
  if (!WORKER_URL.pathname.endsWith('.ts')) return { script: WORKER_URL, evaluate: false };
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    return { script: WORKER_URL, evaluate: false }; // another TypeScript loader: let it try
  }
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return { script: code, evaluate: true };
}

/** How long `stop()` lets the shards drain and close before terminating them anyway. */
const STOP_GRACE_MS = 10_000;

export interface ShardPoolOptions {
  /** Must be the system clock (or one with the same origin): shard event times are compared with it. */
  clock: Clock;
  transport: ShardTransport;
  specs: RequestSpec[];
  /** How often shards post their events (default 25 ms). */
  flushIntervalMs?: number;
}

type Reply = Exclude<FromShard, { type: 'failed' }>;

interface Awaited {
  type: Reply['type'];
  flushId?: number;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

interface Shard {
  worker: Worker;
  /** The shard's error-kind table (grows with each batch's newKinds). */
  kinds: string[];
  /** Replies awaited, in the order the requests were posted (a shard answers each kind in order). */
  awaiting: Awaited[];
}

/** Number of shards for `settings`: an open-loop in-flight cap smaller than the thread count limits them. */
export function shardCount(settings: LoadDriverSettings): number {
  const { load } = settings;
  const threads = Math.max(1, Math.trunc(settings.workerThreads));
  return load.mode !== 'concurrency' && load.maxInFlight > 0 ? Math.min(threads, load.maxInFlight) : threads;
}

export class ShardPool implements LoadDriver {
  readonly windows: ShardWindows;
  private readonly shards: Shard[] = [];
  private started: Promise<void> | undefined;
  private terminated: Promise<void> | undefined;
  private failure: Error | undefined;
  private stopping = false;
  private nextFlushId = 1;
  /** Whether the shards' clients keep responses (for the profile export). */
  private keeping = false;

  constructor(
    private readonly settings: LoadDriverSettings,
    private readonly options: ShardPoolOptions,
  ) {
    this.windows = new ShardWindows(options.clock, settings.load.mode !== 'concurrency', {
      mark: () => this.post({ type: 'mark' }),
      flush: () => this.flush(),
    });
  }

  /** Number of worker threads started. */
  get size(): number {
    return this.shards.length;
  }

  async apply(value: number, startNs?: number): Promise<void> {
    const first = this.started === undefined;
    this.started ??= this.spawn();
    await this.started;
    // Open loop: all shards drain the previous rate before the new schedule's time 0 is taken.
    if (!first && this.settings.load.mode !== 'concurrency') await this.request({ type: 'drain' }, 'drained');
    this.windows.levelStart();
    await this.request({ type: 'apply', value, startNs: startNs ?? this.options.clock.nowNs() }, 'applied');
  }

  /** The shards' clients keep (or stop keeping) successful responses and post them with their events. */
  keepResponses(on: boolean): void {
    if (on === this.keeping) return;
    this.keeping = on;
    if (this.shards.length > 0 && !this.failure) this.post({ type: 'keepResponses', on });
  }

  /** Stops the load in every shard (in-flight requests drain), then terminates the workers. */
  async stop(): Promise<void> {
    if (!this.stopping && !this.failure && this.shards.length > 0) {
      this.stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_GRACE_MS);
      });
      await Promise.race([this.request({ type: 'stop' }, 'stopped').catch(() => undefined), grace]);
      clearTimeout(timer);
    }
    await this.terminate();
  }

  private async spawn(): Promise<void> {
    const count = shardCount(this.settings);
    const originHrtimeNs = systemClockOrigin();
    const ready: Promise<Reply>[] = [];
    const { script, evaluate } = workerEntry();
    for (let index = 0; index < count; index++) {
      const init: ShardInit = {
        index,
        count,
        originHrtimeNs,
        settings: this.settings,
        transport: this.options.transport,
        specs: this.options.specs,
        flushIntervalMs: this.options.flushIntervalMs ?? 25,
        keepResponses: this.keeping,
      };
      const shard: Shard = {
        worker: new Worker(script, { eval: evaluate, workerData: init }),
        kinds: [],
        awaiting: [],
      };
      this.shards.push(shard);
      shard.worker.on('message', (message: FromShard) => this.receive(shard, index, message));
      shard.worker.on('error', (error) => this.fail(index, error));
      shard.worker.on('exit', (code) => {
        if (!this.stopping) this.fail(index, new Error(`exited with code ${code}`));
      });
      ready.push(this.awaitReply(shard, 'ready'));
    }
    await Promise.all(ready);
  }

  private receive(shard: Shard, index: number, message: FromShard): void {
    if (message.type === 'failed') {
      this.fail(index, new Error(message.message));
      return;
    }
    if (message.type === 'batch') {
      shard.kinds.push(...message.newKinds);
      this.windows.ingest(message.events, message.eventCount, shard.kinds, message.responses);
      if (message.flushId === undefined) return;
    }
    const at = shard.awaiting.findIndex(
      (a) => a.type === message.type && (message.type !== 'batch' || a.flushId === message.flushId),
    );
    if (at >= 0) shard.awaiting.splice(at, 1)[0]!.resolve(message);
  }

  /** Posts `message` to every shard and resolves with each one's `type` reply. */
  private request(message: ToShard, type: Reply['type'], flushId?: number): Promise<Reply[]> {
    if (this.failure) return Promise.reject(this.failure);
    const replies = this.shards.map((s) => this.awaitReply(s, type, flushId));
    this.post(message);
    return Promise.all(replies);
  }

  private awaitReply(shard: Shard, type: Reply['type'], flushId?: number): Promise<Reply> {
    return new Promise((resolve, reject) => shard.awaiting.push({ type, flushId, resolve, reject }));
  }

  private async flush(): Promise<LoopHealthSample[]> {
    const id = this.nextFlushId++;
    const replies = await this.request({ type: 'flush', id }, 'batch', id);
    return replies.flatMap((r) => (r.type === 'batch' && r.health ? [r.health] : []));
  }

  private post(message: ToShard): void {
    for (const s of this.shards) s.worker.postMessage(message);
  }

  private terminate(): Promise<void> {
    this.stopping = true;
    this.terminated ??= Promise.all(this.shards.map((s) => s.worker.terminate())).then(() => undefined);
    return this.terminated;
  }

  /** The first failure wins: every wait is rejected or released and all workers are terminated. */
  private fail(index: number, cause: unknown): void {
    if (this.failure) return;
    const why = cause instanceof Error ? cause.message : String(cause);
    const failure = new InferbenchError(`load shard ${index} failed: ${why}`, ExitCode.Unexpected, { cause });
    this.failure = failure;
    for (const s of this.shards) {
      for (const awaited of s.awaiting.splice(0)) awaited.reject(failure);
    }
    this.windows.release();
    void this.terminate();
  }
}
