import { startServer } from '../../embedded-server/src/index.ts';
import { slowIdentityModel } from '../../embedded-server/src/onnx/tiny-models.ts';
import { tempRepository } from './helpers.ts';
const repo = await tempRepository({ pair: { config: `name: "pair"
platform: "onnxruntime_onnx"
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
max_batch_size: 1
instance_group [ { count: 2 kind: KIND_CPU } ]`, onnx: slowIdentityModel({ iterations: 150, matrixSize: 256 }) } });
const s = await startServer({ modelRepository: repo.dir, log: { info: console.error, warn: console.error, error: console.error } });
console.log(JSON.stringify(s.core.repositoryIndex(false)));
await s.stop(); await repo.remove();
