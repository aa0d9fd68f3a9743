import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetricsSampler, parsePrometheusText } from '../../../src/measure/metrics-scrape.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';

function exposition(
  util: [number, number],
  power: number,
  used: [number, number],
  total: [number, number],
): string {
  return `# HELP nv_inference_count Number of inferences performed (does not include cached requests)
# TYPE nv_inference_count counter
nv_inference_count{model="simple",version="1"} 42
# HELP nv_gpu_utilization GPU utilization rate [0.0 - 1.0)
# TYPE nv_gpu_utilization gauge
nv_gpu_utilization{gpu_uuid="GPU-a"} ${util[0]}
nv_gpu_utilization{gpu_uuid="GPU-b"} ${util[1]}
# TYPE nv_gpu_power_usage gauge
nv_gpu_power_usage{gpu_uuid="GPU-a"} ${power}
nv_gpu_memory_used_bytes{gpu_uuid="GPU-a"} ${used[0]}
nv_gpu_memory_used_bytes{gpu_uuid="GPU-b"} ${used[1]}
nv_gpu_memory_total_bytes{gpu_uuid="GPU-a"} ${total[0]}
nv_gpu_memory_total_bytes{gpu_uuid="GPU-b"} ${total[1]} 1700000000000
`;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Prometheus text parser', () => {
  it('reads names, escaped labels, special values and skips comments', () => {
    const samples = parsePrometheusText(
      [
        '# HELP x help with "quotes"',
        'plain 1.5',
        'esc{a="x\\"y",b="back\\\\slash",c="new\\nline"} 2',
        'inf{le="+Inf"} +Inf',
        'neg -Inf',
        'nan NaN',
        'spaced{ a = "1" , } 3 123456',
        'broken{a="x} 1',
        '',
      ].join('\n'),
    );
    assert.deepEqual(samples[0], { name: 'plain', labels: {}, value: 1.5 });
    assert.deepEqual(samples[1]?.labels, { a: 'x"y', b: 'back\\slash', c: 'new\nline' });
    assert.equal(samples[2]?.value, Number.POSITIVE_INFINITY);
    assert.equal(samples[2]?.labels.le, '+Inf');
    assert.equal(samples[3]?.value, Number.NEGATIVE_INFINITY);
    assert.ok(Number.isNaN(samples[4]?.value));
    assert.deepEqual(samples[5], { name: 'spaced', labels: { a: '1' }, value: 3 });
    assert.equal(samples.length, 6);
  });
});

describe('metrics sampler', () => {
  it('aggregates per GPU: average utilization and power, max used memory, first total', async () => {
    const clock = new FakeClock();
    const texts = [
      exposition([0.2, 0.5], 100, [10, 7], [1000, 2000]),
      exposition([0.4, 0.5], 200, [30, 5], [1001, 2001]),
      exposition([0.6, 0.5], 300, [20, 9], [1002, 2002]),
    ];
    const urls: string[] = [];
    const warnings: string[] = [];
    const sampler = createMetricsSampler({
      url: 'localhost:8002/metrics',
      intervalMs: 1000,
      clock,
      fetchText: async (url) => {
        urls.push(url);
        return texts[urls.length - 1] ?? '';
      },
      warn: (m) => warnings.push(m),
    });
    sampler.start();
    await flush();
    clock.advanceNs(1e9);
    await flush();
    clock.advanceNs(1e9);
    await flush();
    const summary = sampler.stop();
    clock.advanceNs(5e9);
    await flush();
    assert.equal(urls.length, 3, 'no scrape after stop');
    assert.equal(urls[0], 'http://localhost:8002/metrics');
    assert.deepEqual(warnings, []);
    assert.ok(summary);
    assert.ok(Math.abs((summary.gpuUtilization['GPU-a'] ?? 0) - 0.4) < 1e-12);
    assert.equal(summary.gpuUtilization['GPU-b'], 0.5);
    assert.deepEqual(summary.gpuPowerUsageW, { 'GPU-a': 200 });
    assert.deepEqual(summary.gpuMemoryUsedBytes, { 'GPU-a': 30, 'GPU-b': 9 });
    assert.deepEqual(summary.gpuMemoryTotalBytes, { 'GPU-a': 1000, 'GPU-b': 2000 });
  });

  it('warns once per missing metric and once for a scrape slower than the interval', async () => {
    const clock = new FakeClock();
    const warnings: string[] = [];
    const sampler = createMetricsSampler({
      url: 'http://h:8002/metrics',
      intervalMs: 5,
      clock,
      fetchText: async () => {
        clock.advanceNs(7e6);
        return 'nv_gpu_utilization{gpu_uuid="GPU-a"} 0.5\n';
      },
      warn: (m) => warnings.push(m),
    });
    sampler.start();
    for (let k = 0; k < 3; k++) {
      await flush();
      clock.advanceNs(0);
    }
    const summary = sampler.stop();
    assert.deepEqual(warnings, [
      "WARNING: Unable to parse 'nv_gpu_power_usage' metric.",
      "WARNING: Unable to parse 'nv_gpu_memory_used_bytes' metric.",
      "WARNING: Unable to parse 'nv_gpu_memory_total_bytes' metric.",
      'WARNING: Triton metrics endpoint latency (7ms) is larger than the querying interval (5ms). Please try a larger querying interval via `--metrics-interval`.',
    ]);
    assert.deepEqual(summary?.gpuUtilization, { 'GPU-a': 0.5 });
    assert.deepEqual(summary?.gpuMemoryTotalBytes, {});
  });

  it('returns undefined when no scrape completed', () => {
    const sampler = createMetricsSampler({
      url: 'h:1',
      intervalMs: 1000,
      clock: new FakeClock(),
      fetchText: () => new Promise<string>(() => {}),
      warn: () => {},
    });
    sampler.start();
    assert.equal(sampler.stop(), undefined);
  });
});
