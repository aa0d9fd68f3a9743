import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CacheConfigError,
  parseCacheConfig,
  ResponseCache,
} from '../../../embedded-server/src/cache/response-cache.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';
import { flush, harness, identityConfig, int32s, request } from '../scheduler/fake-instance.ts';

function tensor(
  name: string,
  bytes: number[],
  shape: number[] = [bytes.length],
  datatype: Tensor['datatype'] = 'UINT8',
): Tensor {
  return { name, datatype, shape, data: new Uint8Array(bytes) };
}

function output(sizeBytes: number): Tensor[] {
  return [{ name: 'OUT', datatype: 'UINT8', shape: [sizeBytes], data: new Uint8Array(sizeBytes) }];
}

describe('ResponseCache key', () => {
  const base = ResponseCache.key('m', '1', [tensor('A', [1, 2, 3, 4])]);

  it('is stable and independent of input order', () => {
    const a = tensor('A', [1, 2]);
    const b = tensor('B', [3, 4]);
    assert.equal(ResponseCache.key('m', '1', [a, b]), ResponseCache.key('m', '1', [b, a]));
    assert.equal(ResponseCache.key('m', '1', [tensor('A', [1, 2, 3, 4])]), base);
  });

  it('changes with model, version, input name, datatype, shape and bytes', () => {
    const variants = [
      ResponseCache.key('n', '1', [tensor('A', [1, 2, 3, 4])]),
      ResponseCache.key('m', '2', [tensor('A', [1, 2, 3, 4])]),
      ResponseCache.key('m', '1', [tensor('B', [1, 2, 3, 4])]),
      ResponseCache.key('m', '1', [tensor('A', [1, 2, 3, 4], [4], 'INT8')]),
      ResponseCache.key('m', '1', [tensor('A', [1, 2, 3, 4], [2, 2])]),
      ResponseCache.key('m', '1', [tensor('A', [1, 2, 3, 5])]),
      // Fields are length-prefixed: ('m1', '') must not collide with ('m', '1').
      ResponseCache.key('m1', '', [tensor('A', [1, 2, 3, 4])]),
    ];
    assert.equal(new Set([base, ...variants]).size, variants.length + 1);
  });
});

describe('ResponseCache LRU', () => {
  it('evicts least recently used entries until the new one fits in the byte budget', () => {
    const probe = new ResponseCache(1 << 20);
    probe.insert('k', output(1000));
    const entryBytes = probe.stats().usedBytes;
    const cache = new ResponseCache(2 * entryBytes);
    assert.ok(cache.insert('a', output(1000)));
    assert.ok(cache.insert('b', output(1000)));
    assert.ok(cache.lookup('a'), 'a becomes the most recently used');
    assert.ok(cache.insert('c', output(1000)));
    assert.equal(cache.has('b'), false, 'b was least recently used');
    assert.ok(cache.has('a'));
    assert.ok(cache.has('c'));
    assert.deepEqual(cache.stats(), {
      entries: 2,
      usedBytes: 2 * entryBytes,
      hits: 1,
      misses: 0,
      evictions: 1,
    });
    assert.equal(cache.lookup('b'), undefined);
    assert.equal(cache.stats().misses, 1);
  });

  it('refuses an entry larger than the whole cache without evicting anything', () => {
    const cache = new ResponseCache(4096);
    assert.ok(cache.insert('small', output(10)));
    assert.equal(cache.insert('huge', output(10_000)), false);
    assert.ok(cache.has('small'));
    assert.equal(cache.stats().evictions, 0);
  });

  it('stores copies, so later writes to the batch buffer do not change a cached response', () => {
    const cache = new ResponseCache(4096);
    const out = output(4);
    cache.insert('k', out);
    out[0]!.data.fill(9);
    assert.deepEqual([...cache.lookup('k')![0]!.data], [0, 0, 0, 0]);
  });
});

describe('parseCacheConfig (--cache-config)', () => {
  it('parses local,size=<bytes>', () => {
    assert.deepEqual(parseCacheConfig('local,size=1048576'), { kind: 'local', sizeBytes: 1048576 });
    assert.deepEqual(parseCacheConfig('local,size=0'), { kind: 'local', sizeBytes: 0 });
  });

  for (const [spec, fragment] of [
    ['', 'expected'],
    ['redis,size=10', "unsupported cache 'redis'"],
    ['local', 'missing size'],
    ['local,size=abc', "invalid size 'abc'"],
    ['local,size=-5', "invalid size '-5'"],
    ['local,size=1e3', "invalid size '1e3'"],
    ['local,size', "invalid setting 'size'"],
    ['local,bytes=10', "unknown setting 'bytes'"],
  ] as const) {
    it(`rejects '${spec}'`, () => {
      assert.throws(
        () => parseCacheConfig(spec),
        (e: unknown) =>
          e instanceof CacheConfigError && e.code === 'ERR_CACHE_CONFIG' && e.message.includes(fragment),
      );
    });
  }
});

describe('response cache in the scheduler', () => {
  it('never caches a failed response', async () => {
    const cache = new ResponseCache(1 << 20);
    const h = harness(identityConfig('max_batch_size: 8\ndynamic_batching { }'), {
      cache,
      cacheEnabled: true,
    });
    const failed = h.scheduler.enqueue(request(5));
    await flush();
    h.calls()[0]!.fail(new Error('boom'));
    await assert.rejects(failed);
    assert.equal(cache.stats().entries, 0);
    const retry = h.scheduler.enqueue(request(5));
    await flush();
    assert.equal(h.calls().length, 2, 'the retry executes');
    h.calls()[1]!.complete();
    await retry;
    assert.equal(cache.stats().entries, 1);
  });

  it('serves a hit with the outputs this request asked for', async () => {
    const cache = new ResponseCache(1 << 20);
    const h = harness(identityConfig('max_batch_size: 8'), { cache, cacheEnabled: true });
    const first = h.scheduler.enqueue(request(3, { outputs: ['OUTPUT0'] }));
    await flush();
    h.calls()[0]!.complete();
    assert.deepEqual(
      (await first).outputs.map((t) => t.name),
      ['OUTPUT0'],
    );
    const hit = await h.scheduler.enqueue(request(3, { outputs: ['OUTPUT1'] }));
    assert.deepEqual(
      hit.outputs.map((t) => t.name),
      ['OUTPUT1'],
    );
    assert.deepEqual(int32s(hit.outputs[0]!), [3, 3]);
    assert.equal(h.calls().length, 1);
  });

  it('is bypassed when the model does not enable it', async () => {
    const cache = new ResponseCache(1 << 20);
    const h = harness(identityConfig('max_batch_size: 8'), { cache, cacheEnabled: false });
    const p = h.scheduler.enqueue(request(1));
    await flush();
    h.calls()[0]!.complete();
    await p;
    assert.deepEqual(cache.stats(), { entries: 0, usedBytes: 0, hits: 0, misses: 0, evictions: 0 });
  });
});
