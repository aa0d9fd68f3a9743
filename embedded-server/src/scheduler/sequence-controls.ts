/**
 * The sequence batcher's control tensors (Triton `sequence_batch_scheduler.cc` SetControlTensors): for every
 * request it executes, the batcher adds one tensor per configured control — START, END and READY as
 * false/true values of the control's datatype (`int32_false_true` → INT32, `fp32_false_true` → FP32,
 * `bool_false_true` → BOOL), CORRID as the correlation ID in its `data_type` (UINT64, INT64, UINT32, INT32 or
 * STRING). Each holds one element: shape [1, 1] when the model batches (batch dim first), [1] when not.
 *
 * Flags: START and END follow the request's `sequence_start` / `sequence_end`; READY is true for every real
 * request and false for the padding rows ("null requests") of the direct strategy, which also carry false
 * START and END.
 */

import { type Datatype, datatypeFromConfigEnum } from '../../../src/protocol/datatypes.ts';
import {
  type DataType,
  type ModelConfig,
  type ModelSequenceBatching,
  type ModelSequenceBatching_Control,
  ModelSequenceBatching_Control_Kind,
} from '../../../src/protocol/gen/model_config_pb.ts';
import type { Tensor } from '../../../src/protocol/tensor.ts';

/** What a row of a sequence batch is. */
export interface ControlFlags {
  start: boolean;
  end: boolean;
  /** False only for padding rows. */
  ready: boolean;
  /** The row's correlation ID (0n for padding rows). */
  correlationId: bigint | string;
}

interface BooleanControl {
  kind: 'START' | 'END' | 'READY';
  name: string;
  datatype: 'INT32' | 'FP32' | 'BOOL';
  /** [false, true] as one element's bytes each. */
  values: [Uint8Array, Uint8Array];
}

interface CorrIdControl {
  name: string;
  datatype: Datatype;
}

/** The controls a sequence model declares, ready to produce per-row tensors. */
export interface SequenceControls {
  readonly booleans: readonly BooleanControl[];
  readonly corrId: CorrIdControl | undefined;
  /** Shape of every control tensor of one row. */
  readonly shape: readonly number[];
  /** Control tensor names (inputs the session has beyond config inputs). */
  readonly names: readonly string[];
}

function elementBytes(datatype: BooleanControl['datatype'], value: number | boolean): Uint8Array {
  if (datatype === 'BOOL') return Uint8Array.of(value ? 1 : 0);
  const out = new Uint8Array(4);
  const view = new DataView(out.buffer);
  if (datatype === 'INT32') view.setInt32(0, Number(value), true);
  else view.setFloat32(0, Number(value), true);
  return out;
}

function booleanControl(
  kind: BooleanControl['kind'],
  name: string,
  control: ModelSequenceBatching_Control,
): BooleanControl {
  if (control.int32FalseTrue.length === 2) {
    const [f, t] = control.int32FalseTrue as [number, number];
    return { kind, name, datatype: 'INT32', values: [elementBytes('INT32', f), elementBytes('INT32', t)] };
  }
  if (control.fp32FalseTrue.length === 2) {
    const [f, t] = control.fp32FalseTrue as [number, number];
    return { kind, name, datatype: 'FP32', values: [elementBytes('FP32', f), elementBytes('FP32', t)] };
  }
  const [f, t] = control.boolFalseTrue as [boolean, boolean];
  return { kind, name, datatype: 'BOOL', values: [elementBytes('BOOL', f), elementBytes('BOOL', t)] };
}

const KIND_NAMES: Partial<Record<ModelSequenceBatching_Control_Kind, BooleanControl['kind']>> = {
  [ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_START]: 'START',
  [ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_END]: 'END',
  [ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_READY]: 'READY',
};

/** Reads the (validated) `control_input` list of a sequence model. */
export function sequenceControlsOf(config: ModelConfig, batcher: ModelSequenceBatching): SequenceControls {
  const booleans: BooleanControl[] = [];
  let corrId: CorrIdControl | undefined;
  for (const input of batcher.controlInput) {
    for (const control of input.control) {
      const kind = KIND_NAMES[control.kind];
      if (kind) {
        booleans.push(booleanControl(kind, input.name, control));
      } else if (control.kind === ModelSequenceBatching_Control_Kind.CONTROL_SEQUENCE_CORRID) {
        const datatype = datatypeFromConfigEnum(control.dataType as DataType);
        if (datatype) corrId = { name: input.name, datatype };
      }
    }
  }
  const names = [...booleans.map((b) => b.name), ...(corrId ? [corrId.name] : [])];
  return { booleans, corrId, shape: config.maxBatchSize > 0 ? [1, 1] : [1], names };
}

/** The CORRID element in the control's datatype (integers wrap like Triton's C++ casts; strings are BYTES). */
export function correlationIdBytes(id: bigint | string, datatype: Datatype): Uint8Array {
  if (datatype === 'BYTES') {
    const text = Buffer.from(typeof id === 'string' ? id : id.toString(), 'utf8');
    const out = new Uint8Array(4 + text.byteLength);
    new DataView(out.buffer).setUint32(0, text.byteLength, true);
    out.set(text, 4);
    return out;
  }
  // Triton hands a string ID to a numeric CORRID as 0 (SequenceId::UnsignedIntValue of a string id).
  const n = typeof id === 'string' ? 0n : id;
  const width = datatype === 'UINT64' || datatype === 'INT64' ? 8 : 4;
  const out = new Uint8Array(width);
  const view = new DataView(out.buffer);
  if (datatype === 'UINT64') view.setBigUint64(0, BigInt.asUintN(64, n), true);
  else if (datatype === 'INT64') view.setBigInt64(0, BigInt.asIntN(64, n), true);
  else if (datatype === 'UINT32') view.setUint32(0, Number(BigInt.asUintN(32, n)), true);
  else view.setInt32(0, Number(BigInt.asIntN(32, n)), true);
  return out;
}

/** The control tensors of one row. */
export function controlTensors(controls: SequenceControls, flags: ControlFlags): Tensor[] {
  const tensors: Tensor[] = [];
  for (const b of controls.booleans) {
    const on =
      b.kind === 'READY' ? flags.ready : flags.ready && (b.kind === 'START' ? flags.start : flags.end);
    // A fresh buffer per row: instances may transfer (detach) input buffers to their worker thread.
    tensors.push({
      name: b.name,
      datatype: b.datatype,
      shape: controls.shape,
      data: b.values[on ? 1 : 0].slice(),
    });
  }
  if (controls.corrId) {
    tensors.push({
      name: controls.corrId.name,
      datatype: controls.corrId.datatype,
      shape: controls.shape,
      data: correlationIdBytes(flags.correlationId, controls.corrId.datatype),
    });
  }
  return tensors;
}
