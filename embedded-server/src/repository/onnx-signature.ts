/**
 * The input/output signature of an ONNX file, read through onnxruntime-node: what Triton's ORT backend asks
 * the session for when it autocompletes and validates a config. Symbolic dims (strings) become -1.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { type Datatype, datatypeFromOrtType } from '../../../src/protocol/datatypes.ts';
import { ConfigError } from './config-error.ts';

export interface OnnxTensorSignature {
  name: string;
  /** undefined when ORT's type has no protocol datatype (or the value is not a tensor). */
  datatype: Datatype | undefined;
  /** -1 for symbolic or unknown dims. */
  dims: number[];
}

export interface OnnxSignature {
  inputs: OnnxTensorSignature[];
  outputs: OnnxTensorSignature[];
}

/** Pure mapping of ORT's value metadata; exported for tests that have no model file. */
export function signatureFromMetadata(
  metadata: readonly InferenceSession.ValueMetadata[],
): OnnxTensorSignature[] {
  return metadata.map((value) => {
    if (!value.isTensor) return { name: value.name, datatype: undefined, dims: [] };
    return {
      name: value.name,
      datatype: datatypeFromOrtType(value.type),
      dims: value.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
    };
  });
}

/** Triton's ORT backend accepts a directory named model.onnx holding model.onnx (large models). */
export async function resolveOnnxFile(modelPath: string): Promise<string> {
  const info = await stat(modelPath);
  return info.isDirectory() ? join(modelPath, 'model.onnx') : modelPath;
}

/**
 * Opens the model in a throw-away CPU session (1 intra-op thread, no graph optimisation: only metadata is
 * needed) on the calling thread, reads its signature and releases the session.
 */
export async function readOnnxSignature(modelPath: string): Promise<OnnxSignature> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(await resolveOnnxFile(modelPath), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'disabled',
    });
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ConfigError(`unable to load ONNX model '${modelPath}': ${detail}`, {
      kind: 'io',
      code: 'UNAVAILABLE',
      filePath: modelPath,
      cause: e,
    });
  }
  try {
    return {
      inputs: signatureFromMetadata(session.inputMetadata),
      outputs: signatureFromMetadata(session.outputMetadata),
    };
  } finally {
    await session.release();
  }
}
