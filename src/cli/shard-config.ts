/**
 * The config file every shard of a run reads (local shards: a temporary file; Kubernetes: the ConfigMap):
 * the user's flags in config-file form, without what belongs to the coordinator (outputs, gates, sharding,
 * verbosity) and, for local shards, without the target (the parent passes -u/-i of the server it started).
 */

import { flagsToConfig } from '../config/config-flags.ts';
import type { ProfileOptionKey, RawFlags } from '../options/profile-options.ts';

const COORDINATOR_ONLY: readonly ProfileOptionKey[] = [
  'csv',
  'json',
  'html',
  'thresholds',
  'profileExportFile',
  'quiet',
  'progress',
  'verbose',
  'shard',
  'shards',
  'local',
  'startAt',
  'clockSync',
  'printRecord',
  'config',
];
const TARGET: readonly ProfileOptionKey[] = ['url', 'protocol', 'modelRepository', 'embeddedConfigOverrides'];

export function shardConfigOf(flags: RawFlags, options: { keepTarget: boolean }): Record<string, unknown> {
  const rest: RawFlags = { ...flags };
  for (const key of [...COORDINATOR_ONLY, ...(options.keepTarget ? [] : TARGET)]) delete rest[key];
  return flagsToConfig(rest) as Record<string, unknown>;
}
