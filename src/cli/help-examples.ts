/** The examples `--help` shows first: the jobs people come for, each one line (fits 80 columns). */

export const INFERBENCH_EXAMPLES = `Examples:
  inferbench                                      the main job (bundled server)
  inferbench -m simple --concurrency-range 1:8:2  sweep a bundled model
  inferbench -u host:8000 -m resnet50 --json r.json      a remote server
  inferbench -u host:8001 -i grpc -m resnet50 -f r.csv   the same over gRPC
  inferbench -m simple --threshold 'p95_latency<=20ms'   a CI gate (exit 1)
  inferbench compare base.json r.json             regressions, listed first
  inferbench report r.json --html r.html          the HTML report of a record
  inferbench serve --model-repository ./models    the server on its own`;

export const PROFILE_EXAMPLES = `Examples:
  inferbench                          the main job (text_recognition, c=1..4)
  inferbench -m simple --concurrency-range 1:8:2
  inferbench -u host:8000 -m resnet50 --request-rate-range 100:400:100
  inferbench -u host:8001 -i grpc -m resnet50 -f run.csv --json run.json
  inferbench -c bench-configs/ci-smoke.yaml --threshold 'p95_latency<=20ms'`;
