import * as ort from 'onnxruntime-node';
import { simpleAddSubModel, identityModel, slowIdentityModel, failingModel } from '/work/main/embedded-server/src/onnx/tiny-models.ts';
const s = await ort.InferenceSession.create(simpleAddSubModel());
const a = Int32Array.from({length:32},(_, i)=>i); const b = Int32Array.from({length:32},()=>1);
const r = await s.run({ INPUT0: new ort.Tensor('int32', a, [2,16]), INPUT1: new ort.Tensor('int32', b, [2,16]) });
console.log(r.OUTPUT0.data.slice(0,4), r.OUTPUT1.data.slice(0,4), r.OUTPUT0.dims);
const st = await ort.InferenceSession.create(identityModel('BYTES'));
console.log((await st.run({INPUT0: new ort.Tensor('string', ['a','bc'], [1,2])})).OUTPUT0.data);
for (const dt of ['FP16','BOOL','INT64','UINT64','FP64','INT8','UINT16','UINT32','INT16','UINT8']) { await ort.InferenceSession.create(identityModel(dt as any)); }
const so = await ort.InferenceSession.create(slowIdentityModel({iterations: 50}), { intraOpNumThreads: 1 });
const x = new ort.Tensor('float32', Float32Array.from([1,2,3,-4]), [1,4]);
for (let k=0;k<3;k++){ const t0=performance.now(); const o = await so.run({INPUT0: x}); console.log('slow', performance.now()-t0, o.OUTPUT0.data); }
const f = await ort.InferenceSession.create(failingModel());
console.log((await f.run({INPUT0: x})).OUTPUT0.dims);
try { await f.run({INPUT0: new ort.Tensor('float32', new Float32Array(3), [1,3])}); } catch (e) { console.log('ERR', (e as Error).message); }
