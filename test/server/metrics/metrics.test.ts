import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createHostUsage,
  parseMeminfo,
  utilizationBetween,
} from '../../../embedded-server/src/metrics/host-usage.ts';
import { startMetricsServer } from '../../../embedded-server/src/metrics/metrics-server.ts';
import {
  cachedGpuReader,
  type GpuReading,
  parseNvidiaSmiCsv,
} from '../../../embedded-server/src/metrics/nvidia-smi.ts';
import { createTritonMetrics } from '../../../embedded-server/src/metrics/prometheus.ts';
import { ModelStatsRecorder } from '../../../embedded-server/src/stats/model-stats.ts';
import { FakeClock } from '../../../src/protocol/clock.ts';

const M = { model: 'simple', version: '1' };

describe('Triton Prometheus metrics', () => {
  it("mirrors the statistics recorder's worked example (§5): 2 requests batched into 1 execution", async () => {
    const metrics = createTritonMetrics({ pendingCounts: () => [{ ...M, count: 3 }] });
    metrics.registerModel(M);
    const stats = new ModelStatsRecorder(new FakeClock());
    stats.onEvent((e) => metrics.observe(M, e));
    const timings = { computeInputNs: 1e6, computeInferNs: 5e6, computeOutputNs: 1e6 };
    stats.recordExecution({ batchSize: 2, ...timings });
    for (let i = 0; i < 2; i++)
      stats.recordSuccess({ batchSize: 1, requestNs: 8e6, queueNs: 1e6, ...timings });
    stats.recordFailure('REJECTED', 2e6);
    const text = await metrics.render();
    for (const line of [
      'nv_inference_request_success{model="simple",version="1"} 2',
      'nv_inference_count{model="simple",version="1"} 2',
      'nv_inference_exec_count{model="simple",version="1"} 1',
      'nv_inference_request_duration_us{model="simple",version="1"} 16000',
      'nv_inference_compute_infer_duration_us{model="simple",version="1"} 10000',
      'nv_inference_request_failure{model="simple",reason="REJECTED",version="1"} 1',
      'nv_inference_request_failure{model="simple",reason="BACKEND",version="1"} 0',
      'nv_inference_pending_request_count{model="simple",version="1"} 3',
      '# HELP nv_inference_queue_duration_us Cumulative inference queuing duration in microseconds (includes cached requests)',
      '# TYPE nv_inference_pending_request_count gauge',
    ]) {
      assert.ok(text.includes(`${line}\n`), `missing: ${line}`);
    }
    assert.ok(!text.includes('nv_cache_num_hits_per_model'), 'cache families only with a server cache');
    assert.ok(!text.includes('nv_gpu_utilization'), 'GPU families only when a GPU is present');
    metrics.removeModel(M);
    assert.ok(!(await metrics.render()).includes('nv_inference_request_success{'));
  });

  it('GPU and CPU gauges come from their readers', async () => {
    const reading: GpuReading = {
      uuid: 'GPU-1',
      utilization: 0.5,
      memoryTotalBytes: 100,
      memoryUsedBytes: 40,
      powerUsageW: 70,
    };
    const metrics = createTritonMetrics({
      pendingCounts: () => [],
      cacheEnabled: true,
      gpu: { read: async () => [reading] },
      host: { cpuUtilization: () => 0.25, memoryTotalBytes: () => 1000, memoryUsedBytes: () => 600 },
    });
    const text = await metrics.render();
    assert.ok(text.includes('nv_gpu_utilization{gpu_uuid="GPU-1"} 0.5\n'));
    assert.ok(text.includes('nv_gpu_power_usage{gpu_uuid="GPU-1"} 70\n'));
    assert.ok(text.includes('nv_cpu_utilization 0.25\n'));
    assert.ok(text.includes('nv_cpu_memory_used_bytes 600\n'));
    assert.ok(text.includes('# HELP nv_cache_num_hits_per_model Number of cache hits per model\n'));
  });

  it('metrics server: GET /metrics and /metrics/ answer, anything else 404', async () => {
    const metrics = createTritonMetrics({ pendingCounts: () => [] });
    const server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0 });
    try {
      for (const path of ['/metrics', '/metrics/']) {
        const r = await fetch(`http://127.0.0.1:${server.port}${path}`);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), metrics.contentType);
        await r.text();
      }
      const other = await fetch(`http://127.0.0.1:${server.port}/v2`);
      assert.equal(other.status, 404);
      await other.text();
      const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' });
      assert.equal(post.status, 404);
      await post.text();
    } finally {
      await server.close();
    }
  });
});

describe('metric readers', () => {
  it('parses nvidia-smi CSV (MiB → bytes, % → ratio, [N/A] power)', () => {
    assert.deepEqual(parseNvidiaSmiCsv('GPU-a, 37, 81559, 1024, 71.50\nGPU-b, 0, 100, 0, [N/A]\ngarbage\n'), [
      {
        uuid: 'GPU-a',
        utilization: 0.37,
        memoryTotalBytes: 81559 * 1048576,
        memoryUsedBytes: 1024 * 1048576,
        powerUsageW: 71.5,
      },
      {
        uuid: 'GPU-b',
        utilization: 0,
        memoryTotalBytes: 100 * 1048576,
        memoryUsedBytes: 0,
        powerUsageW: undefined,
      },
    ]);
  });

  it('caches GPU readings for the minimum interval and shares one run between concurrent scrapes', async () => {
    let runs = 0;
    let nowMs = 0;
    const reader = cachedGpuReader(
      async () => {
        runs++;
        return [];
      },
      { minIntervalMs: 1000, nowMs: () => nowMs },
    );
    await Promise.all([reader.read(), reader.read()]);
    assert.equal(runs, 1);
    nowMs = 999;
    await reader.read();
    assert.equal(runs, 1);
    nowMs = 1000;
    await reader.read();
    assert.equal(runs, 2);
  });

  it('CPU utilisation is the busy share between readings; memory from /proc/meminfo', () => {
    assert.equal(utilizationBetween({ busyMs: 10, totalMs: 100 }, { busyMs: 40, totalMs: 200 }), 0.3);
    assert.equal(utilizationBetween({ busyMs: 10, totalMs: 100 }, { busyMs: 10, totalMs: 100 }), 0);
    const times = [
      { busyMs: 0, totalMs: 0 },
      { busyMs: 50, totalMs: 100 },
    ];
    const host = createHostUsage(() => times.shift() ?? { busyMs: 50, totalMs: 100 });
    assert.equal(host.cpuUtilization(), 0.5);
    assert.deepEqual(parseMeminfo('MemTotal:       1000 kB\nMemFree: 1 kB\nMemAvailable:    400 kB\n'), {
      totalBytes: 1024000,
      availableBytes: 409600,
    });
    assert.equal(parseMeminfo('nothing'), undefined);
  });
});
