/**
 * `inferbench k8s`: the manifests validate against Kubernetes' published schemas (kubernetes-models, the
 * OpenAPI schemas of the API server), the Job is Indexed with completions = parallelism = N and runs the
 * shards' command line, the ConfigMap's config file resolves in a pod to the same settings the flags gave,
 * and hostile values are refused with exit 3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { parseAllDocuments } from 'yaml';
import { resolveSettings } from '../../../src/cli/resolve-settings.ts';
import { configToFlags, mergeFlags } from '../../../src/config/config-flags.ts';
import { parseBenchConfig } from '../../../src/config/load-config.ts';
import { runMain } from '../cli/harness.ts';

const FLAGS = [
  '-m',
  'simple',
  '-u',
  'triton.default.svc:8000',
  '--concurrency-range',
  '16:32:16',
  '-p',
  '2000',
];

async function generate(extra: string[]) {
  return runMain([
    'k8s',
    ...FLAGS,
    '--shards',
    '4',
    '--image',
    'registry.example/inferbench:0.1.0',
    ...extra,
  ]);
}

describe('inferbench k8s', () => {
  it('writes a ConfigMap and an Indexed Job that validate against the Kubernetes schemas', async () => {
    const r = await generate(['--name', 'bench-a', '--namespace', 'perf', '--start-in', '600']);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, unknown>);
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['ConfigMap', 'Job'],
    );
    const configMap = new ConfigMap(docs[0] as ConstructorParameters<typeof ConfigMap>[0]);
    const job = new Job(docs[1] as ConstructorParameters<typeof Job>[0]);
    configMap.validate();
    job.validate();
    assert.equal(job.spec?.completionMode, 'Indexed');
    assert.equal(job.spec?.completions, 4);
    assert.equal(job.spec?.parallelism, 4);
    const container = job.spec!.template.spec!.containers[0]!;
    assert.equal(container.image, 'registry.example/inferbench:0.1.0');
    const args = container.args!;
    assert.deepEqual(args.slice(0, 5), ['profile', '-c', '/etc/inferbench/bench.json', '--shards', '4']);
    assert.ok(args.includes('--print-record'));
    assert.equal(job.spec!.template.spec!.volumes![0]!.configMap!.name, 'bench-a-config');
    assert.match(r.stdout, /kubectl logs -n perf -l batch.kubernetes.io\/job-name=bench-a --tail=-1/);

    // What pod 2 resolves from the ConfigMap and its args: the flags' settings, as shard 2 of 4.
    const startAt = args[args.indexOf('--start-at') + 1]!;
    const fromFile = configToFlags(parseBenchConfig(configMap.data!['bench.json']!, 'bench.json'));
    const pod = resolveSettings(mergeFlags(fromFile, { shards: '4', startAt, printRecord: true }), {
      programName: 'inferbench',
      files: { exists: () => false, readText: () => '' },
      shardContext: { environment: { JOB_COMPLETION_INDEX: '2' }, nowMs: Date.now() },
    });
    assert.equal(pod.settings.shard?.index, 2);
    assert.equal(pod.settings.shard?.count, 4);
    assert.equal(pod.settings.url, 'triton.default.svc:8000');
    assert.deepEqual(pod.settings.load, { mode: 'concurrency', range: { start: 16, end: 32, step: 16 } });
    assert.equal(pod.settings.measurement.windowMs, 2000);
    assert.equal(pod.printRecord, true);
  });

  it('refuses what a pod would refuse, and hostile manifest values (exit 3)', async () => {
    const cases: [string[], RegExp][] = [
      [['--name', 'Bad_Name'], /--name/],
      [['--name', 'a'.repeat(53)], /--name/],
      [['--namespace', '../etc'], /--namespace/],
      [['--cpu', '1; rm -rf /'], /--cpu/],
      [['--memory', '-1Gi'], /--memory/],
      [['--start-in', '0'], /--start-in/],
      [['--start-in', '999999999'], /--start-in/],
      [['--start-at', '2001-01-01T00:00:00Z'], /in the past/],
      [['--start-at', '2026-12-03T15:00:00Z', '--start-in', '60'], /either --start-at or --start-in/],
      [['--local'], /not --shard or --local/],
      [['--binary-search', '-l', '5'], /binary-search/],
    ];
    for (const [extra, pattern] of cases) {
      const r = await generate(extra);
      assert.equal(r.code, 3, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
    const noImage = await runMain(['k8s', ...FLAGS, '--shards', '2']);
    assert.equal(noImage.code, 3);
    assert.match(noImage.stderr, /--image/);
    const badImage = await runMain(['k8s', ...FLAGS, '--shards', '2', '--image', 'x $(reboot)']);
    assert.equal(badImage.code, 3);
    const noShards = await runMain(['k8s', ...FLAGS, '--image', 'x']);
    assert.match(noShards.stderr, /needs --shards/);
    const noTarget = await runMain(['k8s', '-m', 'simple', '--shards', '2', '--image', 'x']);
    assert.match(noTarget.stderr, /needs -u/);
  });
});
