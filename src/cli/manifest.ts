/**
 * Builds the reproducibility manifest (report/manifest.ts) at the start of a run: the tool and its git
 * commit, every resolved setting (header values redacted: they may carry credentials), the seed, the server's
 * metadata and the model config as fetched, the execution providers the config asks for, the host and Node.
 */
import { execFileSync } from 'node:child_process';
import { arch, cpus, hostname, loadavg, platform, totalmem } from 'node:os';
import { type ModelConfig, ModelInstanceGroup_Kind } from '../protocol/gen/model_config_pb.ts';
import { modelConfigToJson } from '../protocol/model-config-json.ts';
import { packageInfo } from '../protocol/package-info.ts';
import type { RunManifest } from '../report/manifest.ts';
import type { ServerMetadataInfo } from '../transport/server-api.ts';
import type { ResolvedRun } from './run-types.ts';

let commitCache: string | null | undefined;

/** The commit of inferbench's checkout (undefined outside a git checkout, e.g. an npm install). */
export function toolCommit(): string | undefined {
  if (commitCache === undefined) {
    try {
      commitCache = execFileSync('git', ['rev-parse', 'HEAD'], {
        cwd: packageInfo().root,
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
        encoding: 'utf8',
      }).trim();
      if (!/^[0-9a-f]{40}$/.test(commitCache)) commitCache = null;
    } catch {
      commitCache = null;
    }
  }
  return commitCache ?? undefined;
}

/** Execution providers the model config asks for: the instance kinds and any named accelerators. */
export function executionProvidersOf(config: ModelConfig | undefined): string[] {
  if (!config) return [];
  const out = new Set<string>();
  const names: Record<number, string> = {
    [ModelInstanceGroup_Kind.AUTO]: 'auto (cuda when a GPU is usable, else cpu)',
    [ModelInstanceGroup_Kind.GPU]: 'cuda',
    [ModelInstanceGroup_Kind.CPU]: 'cpu',
    [ModelInstanceGroup_Kind.MODEL]: 'model',
  };
  const groups =
    config.instanceGroup.length > 0 ? config.instanceGroup : [{ kind: ModelInstanceGroup_Kind.AUTO }];
  for (const g of groups) out.add(names[g.kind] ?? `kind ${g.kind}`);
  const acc = config.optimization?.executionAccelerators;
  for (const a of acc?.gpuExecutionAccelerator ?? []) out.add(a.name);
  for (const a of acc?.cpuExecutionAccelerator ?? []) out.add(a.name);
  return [...out];
}

export function captureManifest(
  run: ResolvedRun,
  server: ServerMetadataInfo,
  config: ModelConfig | undefined,
  repeat: number,
): RunManifest {
  const cpuList = cpus();
  const redacted = Object.fromEntries(Object.keys(run.transport.headers).map((k) => [k, '(redacted)']));
  const commit = toolCommit();
  return {
    tool: { name: 'inferbench', version: packageInfo().version, ...(commit ? { commit } : {}) },
    settings: JSON.parse(
      JSON.stringify({
        profile: run.settings,
        target: run.target,
        input: run.input,
        transport: { ...run.transport, headers: redacted },
        output: run.output,
        repeat,
      }),
    ) as Record<string, unknown>,
    seed: run.input.seed,
    server: {
      metadata: { name: server.name, version: server.version, extensions: [...server.extensions] },
      ...(config ? { modelConfig: modelConfigToJson(config) as Record<string, unknown> } : {}),
      executionProviders: executionProvidersOf(config),
    },
    host: {
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      cores: cpuList.length,
      loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
      totalMemoryBytes: totalmem(),
      platform: platform(),
      arch: arch(),
      hostname: hostname(),
    },
    node: process.version,
  };
}
