/** Small real ONNX models built in code, for decoding tests where no trained model ships in a package. */
import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };

export const SIZE = 64;

/** An ONNX model: images [1,3,64,64] → output = mean(images)·0 + table. */
export function tableModel(table: number[][], dims: number[]): Uint8Array {
  const flat = Float32Array.from(table.flat());
  const F = onnx.TensorProto.DataType.FLOAT;
  const graph: OnnxNs.IGraphProto = {
    name: 'yolo-test',
    input: [{ name: 'images', type: { tensorType: { elemType: F, shape: { dim: [1, 3, SIZE, SIZE].map((d) => ({ dimValue: d })) } } } }],
    output: [{ name: 'output0', type: { tensorType: { elemType: F } } }],
    initializer: [
      { name: 'table', dims, dataType: F, rawData: new Uint8Array(flat.buffer) },
      { name: 'zero', dims: [], dataType: F, rawData: new Uint8Array(Float32Array.of(0).buffer) },
    ],
    node: [
      {
        opType: 'ReduceMean',
        input: ['images'],
        output: ['m'],
        attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      },
      { opType: 'Mul', input: ['m', 'zero'], output: ['z'] },
      { opType: 'Add', input: ['z', 'table'], output: ['output0'] },
    ],
  };
  return onnx.ModelProto.encode({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph }).finish();
}

// Candidates in model pixels (64×64): two overlapping fires, one smoke, one weak box.
export const V5 = [
  [20, 20, 10, 10, 0.9, 0.95, 0.05],
  [21, 20, 10, 10, 0.8, 0.9, 0.1],
  [48, 40, 12, 8, 0.9, 0.2, 0.8],
  [10, 50, 6, 6, 0.2, 0.9, 0.1],
];
// v8: the same boxes as columns, no objectness (scores folded in).
export const V8 = [0, 1, 2, 3, 5, 6].map((k) => V5.map((r) => (k >= 5 ? r[k]! * r[4]! : r[k]!)));
