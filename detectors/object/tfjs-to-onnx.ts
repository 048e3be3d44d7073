/**
 * Converts a TensorFlow.js graph model (model.json + weight shards) into an ONNX model, so a
 * model that ships only in tfjs format (the COCO CenterNet inside @vladmandic/human) runs on
 * onnxruntime like every other detector here.
 *
 * TF graphs are NHWC; ONNX convolutions are NCHW. The converted graph transposes the input once,
 * runs everything NCHW (filters and per-channel constants are rearranged at conversion time) and
 * transposes each output back, so inputs and outputs keep the tfjs names, shapes and layout.
 *
 * Only the ops a convolutional detector backbone needs are covered; anything else stops the
 * conversion with the op's name, never a silently wrong model. Outputs are chosen by name and
 * the graph is pruned to what they need (CenterNet's top-k decoding is done in TypeScript).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { onnx as OnnxNs } from 'onnx-proto';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxNs };

import {
  type Constant,
  ConversionError,
  inputName,
  readWeights,
  type TfAttr,
  type TfjsGraphModel,
  type TfNode,
  topological,
} from './tfjs-graph.js';

export { ConversionError, type TfjsGraphModel };

export interface ConvertOptions {
  /** Graph outputs to keep, by tfjs node name. */
  outputs: string[];
  producer?: string;
}

/** Reads model.json and its shards, and returns the ONNX model's bytes. */
export async function convertTfjsFile(modelJson: string, opts: ConvertOptions): Promise<Uint8Array> {
  const model = JSON.parse(await readFile(modelJson, 'utf8')) as TfjsGraphModel;
  if (model.format && model.format !== 'graph-model')
    throw new ConversionError(`${modelJson}: format ${model.format}, only tfjs graph models convert`);
  const shards: Buffer[] = [];
  for (const group of model.weightsManifest)
    for (const p of group.paths) shards.push(await readFile(path.join(path.dirname(modelJson), p)));
  return convertTfjsGraph(model, Buffer.concat(shards), opts);
}

export function convertTfjsGraph(model: TfjsGraphModel, weights: Buffer, opts: ConvertOptions): Uint8Array {
  const constants = readWeights(model, weights);
  const nodes = new Map(model.modelTopology.node.map((n) => [n.name, n]));
  const b = new GraphBuilder(constants);
  const order = topological(nodes, opts.outputs);
  for (const node of order) b.add(node);
  const graph = b.finish(opts.outputs);
  const bytes = onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: opts.producer ?? 'gridedge tfjs-to-onnx',
    graph,
  }).finish();
  return bytes;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** An NHWC axis's place in NCHW. */
const AXIS_NCHW = [0, 2, 3, 1];

const text = (a: TfAttr | undefined): string => (a?.s ? Buffer.from(a.s, 'base64').toString() : '');
const ints = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);

class GraphBuilder {
  private readonly nodes: OnnxNs.INodeProto[] = [];
  private readonly initializers: OnnxNs.ITensorProto[] = [];
  private readonly inputs: OnnxNs.IValueInfoProto[] = [];
  private readonly initialized = new Set<string>();
  /** TF tensors that are activations (laid out NCHW in the ONNX graph); everything else is a constant. */
  private readonly activations = new Set<string>();
  private counter = 0;

  constructor(private readonly constants: Map<string, Constant>) {}

  add(node: TfNode): void {
    const ins = (node.input ?? []).filter((i) => !i.startsWith('^')).map(inputName);
    const a = node.attr ?? {};
    switch (node.op) {
      case 'Const':
        if (!this.constants.has(node.name)) throw new ConversionError(`constant ${node.name} has no weights`);
        return;
      case 'Placeholder': {
        const dims = (a.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.length !== 4) throw new ConversionError(`input ${node.name}: only 4-D image inputs are supported (got [${dims}])`);
        this.inputs.push(valueInfo(node.name, dims));
        this.emit('Transpose', [node.name], `${node.name}#nchw`, { perm: NHWC_TO_NCHW });
        this.activations.add(node.name);
        return;
      }
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return this.conv(node, ins);
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Identity':
        return this.unary(node.op, ins[0]!, node.name);
      case 'Relu6':
        return this.relu6(this.act(ins[0]!), this.out(node.name));
      case 'Add':
      case 'AddV2':
      case 'Mul':
      case 'Sub':
      case 'RealDiv':
      case 'Maximum':
      case 'Minimum':
        return this.binary(node, ins);
      case 'Mean':
        return this.mean(node, ins);
      case 'ConcatV2':
        return this.concat(node, ins);
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor':
        return this.resize(node, ins);
      case 'MaxPool':
      case 'AvgPool':
        return this.pool(node, ins);
      default:
        throw new ConversionError(`op ${node.op} (node ${node.name}) is not supported by this converter`);
    }
  }

  finish(outputs: string[]): OnnxNs.IGraphProto {
    const outs: OnnxNs.IValueInfoProto[] = [];
    for (const o of outputs) {
      if (!this.activations.has(o)) throw new ConversionError(`output ${o} is not an image-shaped tensor`);
      this.emit('Transpose', [this.act(o)], o, { perm: NCHW_TO_NHWC });
      outs.push(valueInfo(o));
    }
    return { name: 'converted', node: this.nodes, initializer: this.initializers, input: this.inputs, output: outs };
  }

  // ---- ops ----

  private conv(node: TfNode, ins: string[]): void {
    const a = node.attr ?? {};
    if (text(a.data_format) && text(a.data_format) !== 'NHWC')
      throw new ConversionError(`${node.name}: data_format ${text(a.data_format)}`);
    const depthwise = node.op.includes('Depthwise');
    const filter = this.constant(ins[1]!);
    if (filter.shape.length !== 4) throw new ConversionError(`${node.name}: filter is not 4-D`);
    const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
    // HWIO → OIHW; depthwise HW(C)(M) → (C·M)1HW with one group per input channel.
    const w = depthwise
      ? { shape: [cin * cout, 1, kh, kw], data: rearrange(filter.data, [kh, kw, cin, cout], [2, 3, 0, 1]) }
      : { shape: [cout, cin, kh, kw], data: rearrange(filter.data, [kh, kw, cin, cout], [3, 2, 0, 1]) };
    const inputs = [this.act(ins[0]!), this.initializer(`${ins[1]}#w`, w)];
    const fused = (a.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());
    if (fused.length && fused[0] !== 'BiasAdd') throw new ConversionError(`${node.name}: fused ${fused.join('+')} is not supported`);
    if (fused[0] === 'BiasAdd') {
      const bias = this.constant(ins[2]!);
      inputs.push(this.initializer(`${ins[2]}#b`, { shape: [bias.data.length], data: Float32Array.from(bias.data) }));
    }
    const strides = ints(a.strides);
    const dilations = ints(a.dilations);
    const attrs: Record<string, AttrValue> = {
      kernel_shape: [kh, kw],
      strides: strides.length ? [strides[1]!, strides[2]!] : [1, 1],
      dilations: dilations.length ? [dilations[1]!, dilations[2]!] : [1, 1],
      group: depthwise ? cin : 1,
      ...padding(node),
    };
    const activation = fused[1];
    const target = this.out(node.name);
    if (!activation) return void this.emit('Conv', inputs, target, attrs);
    const conv = this.emit('Conv', inputs, this.temp(), attrs);
    if (activation === 'Relu') this.emit('Relu', [conv], target);
    else if (activation === 'Relu6') this.relu6(conv, target);
    else throw new ConversionError(`${node.name}: fused activation ${activation} is not supported`);
  }

  private unary(op: string, input: string, name: string): void {
    if (!this.activations.has(input)) throw new ConversionError(`${name}: ${op} of a constant`);
    this.emit(op, [this.act(input)], this.out(name));
  }

  private relu6(input: string, target: string): void {
    this.emit('Clip', [input, this.scalar(0), this.scalar(6)], target);
  }

  private binary(node: TfNode, ins: string[]): void {
    const op = { Add: 'Add', AddV2: 'Add', Mul: 'Mul', Sub: 'Sub', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' }[node.op]!;
    const operands = ins.slice(0, 2).map((i) => (this.activations.has(i) ? this.act(i) : this.broadcastConstant(i, node.name)));
    if (!ins.slice(0, 2).some((i) => this.activations.has(i))) throw new ConversionError(`${node.name}: arithmetic on constants only`);
    this.emit(op, operands, this.out(node.name));
  }

  /** A constant operand of element-wise arithmetic with an NCHW activation. */
  private broadcastConstant(name: string, user: string): string {
    const c = this.constant(name);
    const data = Float32Array.from(c.data);
    const shape = c.shape;
    const n = data.length;
    if (n === 1) return this.initializer(`${name}#s`, { shape: [], data });
    const rank = shape.length;
    // Per channel: [C], [1,C], [1,1,C], [1,1,1,C] in NHWC broadcast along the last axis → [C,1,1].
    if (shape[rank - 1] === n) return this.initializer(`${name}#c`, { shape: [n, 1, 1], data });
    if (rank === 4)
      return this.initializer(`${name}#nchw`, { shape: NHWC_TO_NCHW.map((i) => shape[i]!), data: rearrange(data, shape, NHWC_TO_NCHW) });
    throw new ConversionError(`${user}: constant ${name} of shape [${shape}] cannot be broadcast in NCHW`);
  }

  private mean(node: TfNode, ins: string[]): void {
    if (!node.attr?.keep_dims?.b) throw new ConversionError(`${node.name}: Mean without keep_dims`);
    const axes = Array.from(this.constant(ins[1]!).data).map((ax) => AXIS_NCHW[ax < 0 ? ax + 4 : ax]!);
    this.emit('ReduceMean', [this.act(ins[0]!)], this.out(node.name), { axes, keepdims: 1 });
  }

  private concat(node: TfNode, ins: string[]): void {
    const parts = ins.slice(0, -1);
    const axis = this.constant(ins[ins.length - 1]!).data[0]!;
    for (const p of parts) if (!this.activations.has(p)) throw new ConversionError(`${node.name}: concatenating a constant`);
    this.emit(
      'Concat',
      parts.map((p) => this.act(p)),
      this.out(node.name),
      { axis: AXIS_NCHW[axis < 0 ? axis + 4 : axis]! },
    );
  }

  private resize(node: TfNode, ins: string[]): void {
    const a = node.attr ?? {};
    const size = Array.from(this.constant(ins[1]!).data);
    const x = this.act(ins[0]!);
    // sizes = [N, C] of the input followed by the new [H, W].
    const shape = this.emit('Shape', [x], this.temp());
    const nc = this.emit('Slice', [shape, this.int64(`${node.name}#0`, [0]), this.int64(`${node.name}#2`, [2])], this.temp());
    const sizes = this.emit('Concat', [nc, this.int64(`${node.name}#hw`, size)], this.temp(), { axis: 0 });
    const bilinear = node.op === 'ResizeBilinear';
    const mode = a.align_corners?.b
      ? 'align_corners'
      : a.half_pixel_centers?.b
        ? bilinear
          ? 'half_pixel'
          : 'tf_half_pixel_for_nn'
        : 'asymmetric';
    this.emit('Resize', [x, '', '', sizes], this.out(node.name), {
      mode: bilinear ? 'linear' : 'nearest',
      coordinate_transformation_mode: mode,
      ...(bilinear ? {} : { nearest_mode: a.align_corners?.b ? 'round_prefer_ceil' : 'floor' }),
    });
  }

  private pool(node: TfNode, ins: string[]): void {
    const a = node.attr ?? {};
    const k = ints(a.ksize);
    const s = ints(a.strides);
    this.emit(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [this.act(ins[0]!)], this.out(node.name), {
      kernel_shape: [k[1]!, k[2]!],
      strides: [s[1]!, s[2]!],
      ...padding(node),
      ...(node.op === 'AvgPool' ? { count_include_pad: 0 } : {}),
    });
  }

  // ---- plumbing ----

  private constant(name: string): Constant {
    const c = this.constants.get(name);
    if (!c) throw new ConversionError(`${name} is not a constant (ops computing shapes at run time are not supported)`);
    return c;
  }

  /** The ONNX name of a TF activation. */
  private act(name: string): string {
    if (!this.activations.has(name)) throw new ConversionError(`${name} is used as an image tensor but is not one`);
    return `${name}#nchw`;
  }

  private out(name: string): string {
    this.activations.add(name);
    return `${name}#nchw`;
  }

  private temp(): string {
    return `#t${this.counter++}`;
  }

  private scalar(value: number): string {
    return this.initializer(`#scalar${value}`, { shape: [], data: Float32Array.of(value) });
  }

  private int64(name: string, values: number[]): string {
    if (!this.initialized.has(name)) {
      this.initialized.add(name);
      const raw = Buffer.alloc(values.length * 8);
      values.forEach((v, i) => {
        raw.writeBigInt64LE(BigInt(v), i * 8);
      });
      this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
    }
    return name;
  }

  private initializer(name: string, c: { shape: number[]; data: Float32Array | Int32Array }): string {
    if (!this.initialized.has(name)) {
      this.initialized.add(name);
      const data = Float32Array.from(c.data);
      this.initializers.push({ name, dims: c.shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) });
    }
    return name;
  }

  private emit(op: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push({
      opType: op,
      input: inputs,
      output: [output],
      name: `${op}_${this.nodes.length}`,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }
}

type AttrValue = number | string | number[];

function attribute(name: string, v: AttrValue): OnnxNs.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v) };
  return { name, type: T.INTS, ints: v };
}

function padding(node: TfNode): Record<string, AttrValue> {
  const p = text(node.attr?.padding);
  // TF's SAME puts the odd pixel at the end, as ONNX's SAME_UPPER does.
  if (p === 'SAME') return { auto_pad: 'SAME_UPPER' };
  if (p === 'VALID') return { auto_pad: 'VALID' };
  throw new ConversionError(`${node.name}: padding ${p || '(none)'} is not supported`);
}

function valueInfo(name: string, dims?: number[]): OnnxNs.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) },
    },
  };
}

/** Transposes an n-D array: `perm[k]` is the input axis that becomes output axis k. */
function rearrange(data: ArrayLike<number>, shape: number[], perm: number[]): Float32Array {
  const out = new Float32Array(data.length);
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let k = rank - 1; k >= 0; k--) {
    inStrides[k] = s;
    s *= shape[k]!;
  }
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += idx[k]! * inStrides[perm[k]!]!;
    out[o] = data[src]!;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}
