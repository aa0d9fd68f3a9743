/**
 * `inferbench k8s [profile flags] --shards N --image IMAGE`: writes the manifests of a sharded run
 * (src/distributed/k8s-manifests.ts). The profile flags are checked exactly as a shard pod will check them
 * (resolveSettings as shard 0 of N), so a run that cannot work is refused here (exit 3), not in N pods.
 */

import { renderK8sYaml } from '../distributed/k8s-manifests.ts';
import { parseStartAt } from '../distributed/shard-spec.ts';
import { OptionError } from '../errors.ts';
import type { RawFlags } from '../options/profile-options.ts';
import type { CliFiles, CliIo } from './main.ts';
import { resolveSettings } from './resolve-settings.ts';
import { shardConfigOf } from './shard-config.ts';

export interface K8sFlags {
  image?: string;
  name?: string;
  namespace?: string;
  out?: string;
  cpu?: string;
  memory?: string;
  startIn?: string;
}

/** Default lead of the shared start: time to apply the manifests, pull the image and schedule N pods. */
export const DEFAULT_START_IN_S = 300;

export function runK8s(flags: RawFlags & K8sFlags, io: CliIo, files: CliFiles, nowMs = Date.now()): number {
  if (flags.shards === undefined) throw new OptionError('k8s needs --shards N (the Job runs N shard pods).');
  if (flags.local || flags.shard !== undefined)
    throw new OptionError(
      'k8s takes --shards N only (not --shard or --local): each pod gets its index from the Job.',
    );
  if (flags.image === undefined)
    throw new OptionError('k8s needs --image (an image built from the Dockerfile).');
  if (flags.startAt !== undefined && flags.startIn !== undefined)
    throw new OptionError('Give either --start-at or --start-in, not both.');
  let startAtMs: number;
  if (flags.startAt !== undefined) startAtMs = parseStartAt(flags.startAt, nowMs);
  else {
    const text = flags.startIn ?? String(DEFAULT_START_IN_S);
    if (!/^[1-9][0-9]{0,4}$/.test(text) || Number(text) > 86_400)
      throw new OptionError(`Failed to parse --start-in. Expected seconds from 1 to 86400 (got '${text}').`);
    startAtMs = nowMs + Number(text) * 1000;
  }
  // Checked as shard 0 would check them in its pod.
  resolveSettings(
    {
      ...flags,
      shards: undefined,
      shard: `0/${flags.shards}`,
      startAt: String(startAtMs),
      printRecord: true,
    },
    { programName: 'inferbench', files, shardContext: { environment: {}, nowMs } },
  );
  const yaml = renderK8sYaml({
    name: flags.name ?? 'inferbench',
    ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
    image: flags.image,
    shards: Number(flags.shards),
    startAtMs,
    config: shardConfigOf(flags, { keepTarget: true }),
    cpu: flags.cpu ?? '1',
    memory: flags.memory ?? '1Gi',
  });
  if (flags.out === undefined || flags.out === '-') io.stdout.write(yaml);
  else {
    files.writeText(flags.out, yaml, false);
    io.stderr.write(`Wrote ${flags.out}: apply it before ${new Date(startAtMs).toISOString()}.\n`);
  }
  return 0;
}
