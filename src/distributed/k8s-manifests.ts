/**
 * The Kubernetes manifests of a sharded run (pure): a ConfigMap holding the shards' config file and an
 * Indexed Job (completions = parallelism = N) whose pod k runs `inferbench profile -c … --shards N` (the
 * index from JOB_COMPLETION_INDEX) with a shared --start-at and --print-record, so `kubectl logs` carries
 * every shard's record to `inferbench merge --from-logs`. backoffLimit 0: a restarted shard would start
 * after --start-at and be refused; rerun the whole Job instead.
 */
import { stringify } from 'yaml';
import { OptionError } from '../errors.ts';

export interface K8sRunOptions {
  /** Job name; the ConfigMap is `<name>-config`. A DNS-1123 label of at most 52 characters. */
  name: string;
  namespace?: string;
  image: string;
  shards: number;
  startAtMs: number;
  /** The shards' config file (shard-config.ts). */
  config: Record<string, unknown>;
  /** Container resources, Kubernetes quantities (e.g. "2", "500m", "1Gi"). */
  cpu: string;
  memory: string;
}

export const CONFIG_FILE = 'bench.json';
export const CONFIG_DIR = '/etc/inferbench';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/;
/** Printable, no whitespace or shell metacharacters: an image reference, not a command. */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,254}$/;

export function checkK8sOptions(o: K8sRunOptions): void {
  // Job names become pod-name prefixes and a label value: at most 63 characters with the suffix Kubernetes adds.
  if (!DNS_LABEL.test(o.name) || o.name.length > 52)
    throw new OptionError(
      `Failed to parse --name. Expected a DNS-1123 label of at most 52 characters (got '${o.name}').`,
    );
  if (o.namespace !== undefined && (!DNS_LABEL.test(o.namespace) || o.namespace.length > 63))
    throw new OptionError(`Failed to parse --namespace. Expected a DNS-1123 label (got '${o.namespace}').`);
  if (!IMAGE.test(o.image))
    throw new OptionError(`Failed to parse --image. Expected an image reference (got '${o.image}').`);
  if (!QUANTITY.test(o.cpu))
    throw new OptionError(`Failed to parse --cpu. Expected a quantity such as 2 or 500m (got '${o.cpu}').`);
  if (!QUANTITY.test(o.memory))
    throw new OptionError(`Failed to parse --memory. Expected a quantity such as 1Gi (got '${o.memory}').`);
}

export function k8sManifests(o: K8sRunOptions): Record<string, unknown>[] {
  checkK8sOptions(o);
  const labels = { 'app.kubernetes.io/name': 'inferbench', 'app.kubernetes.io/instance': o.name };
  const metadata = (name: string) => ({ name, ...(o.namespace ? { namespace: o.namespace } : {}), labels });
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(`${o.name}-config`),
    data: { [CONFIG_FILE]: `${JSON.stringify(o.config, null, 2)}\n` },
  };
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(o.name),
    spec: {
      completionMode: 'Indexed',
      completions: o.shards,
      parallelism: o.shards,
      backoffLimit: 0,
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'inferbench',
              image: o.image,
              args: [
                'profile',
                '-c',
                `${CONFIG_DIR}/${CONFIG_FILE}`,
                '--shards',
                String(o.shards),
                '--start-at',
                new Date(o.startAtMs).toISOString(),
                '--print-record',
                '--quiet',
                '--no-progress',
              ],
              resources: {
                requests: { cpu: o.cpu, memory: o.memory },
                limits: { cpu: o.cpu, memory: o.memory },
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: `${o.name}-config` } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
  return [configMap, job];
}

/** The manifests as one YAML stream, with the collection steps as a leading comment. */
export function renderK8sYaml(o: K8sRunOptions): string {
  const ns = o.namespace ? ` -n ${o.namespace}` : '';
  const header = [
    `# inferbench: ${o.shards} shards of one run, starting at ${new Date(o.startAtMs).toISOString()} (apply before then).`,
    `#   kubectl apply${ns} -f THIS_FILE`,
    `#   kubectl wait${ns} --for=condition=complete job/${o.name} --timeout=2h`,
    `#   kubectl logs${ns} -l batch.kubernetes.io/job-name=${o.name} --tail=-1 --max-log-requests=${Math.max(5, o.shards)} > ${o.name}-logs.txt`,
    `#   inferbench merge --from-logs ${o.name}-logs.txt --json ${o.name}.json --html ${o.name}.html`,
    '',
  ].join('\n');
  return (
    header +
    k8sManifests(o)
      .map((m) => `---\n${stringify(m)}`)
      .join('')
  );
}
