import * as ort from 'onnxruntime-node';
import { identityModel } from '/work/main/embedded-server/src/onnx/tiny-models.ts';
for (const dt of ['FP16','BOOL','BYTES','INT64']) {
const s = await ort.InferenceSession.create(identityModel(dt as any));
console.log(dt, JSON.stringify(s.inputMetadata));
const t = dt==='FP16'? new ort.Tensor('float16', new Uint16Array([15360, 16384]), [1,2]) : dt==='BOOL' ? new ort.Tensor('bool', new Uint8Array([1,0]), [1,2]) : dt==='BYTES'? new ort.Tensor('string', ['x','yy'],[1,2]) : new ort.Tensor('int64', new BigInt64Array([1n,2n]),[1,2]);
const o = (await s.run({INPUT0: t})).OUTPUT0;
console.log(o.type, o.data.constructor.name, o.data, (o.data as any).buffer?.byteLength, (o.data as any).byteOffset);
}
