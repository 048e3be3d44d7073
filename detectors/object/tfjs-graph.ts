/** A tfjs graph model as its files hold it: the topology's nodes, the weights manifest and the weights themselves. */

export interface TfAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  list?: { i?: string[]; s?: string[] };
  shape?: { dim?: Array<{ size: string }> };
}
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number };
}
export interface TfjsGraphModel {
  format?: string;
  modelTopology: { node: TfNode[] };
  weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }>;
}

export interface Constant {
  shape: number[];
  data: Float32Array | Int32Array;
}

export class ConversionError extends Error {}

/** Weight shards hold every constant, in manifest order; float16 and uint8/16 quantisation are undone here. */
export function readWeights(model: TfjsGraphModel, buffer: Buffer): Map<string, Constant> {
  const out = new Map<string, Constant>();
  let offset = 0;
  for (const spec of model.weightsManifest.flatMap((g) => g.weights)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const bytes = n * (q ? (q.dtype === 'uint8' ? 1 : 2) : 4);
    if (offset + bytes > buffer.length) throw new ConversionError(`weights end early at ${spec.name}`);
    const view = buffer.subarray(offset, offset + bytes);
    offset += bytes;
    let data: Float32Array | Int32Array;
    if (spec.dtype === 'int32' && !q) data = new Int32Array(Uint8Array.from(view).buffer);
    else if (spec.dtype === 'float32' && !q) data = new Float32Array(Uint8Array.from(view).buffer);
    else if (q?.dtype === 'float16') {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = halfToFloat(view.readUInt16LE(i * 2));
    } else if (q && (q.dtype === 'uint8' || q.dtype === 'uint16')) {
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = (q.dtype === 'uint8' ? view[i]! : view.readUInt16LE(i * 2)) * (q.scale ?? 1) + (q.min ?? 0);
      data = spec.dtype === 'int32' ? Int32Array.from(values, Math.round) : values;
    } else throw new ConversionError(`weight ${spec.name}: dtype ${spec.dtype}${q ? ` quantised as ${q.dtype}` : ''} is not supported`);
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export function inputName(ref: string): string {
  // "node:1" names a node's second output; "^node" a control dependency.
  return ref.replace(/^\^/, '').replace(/:0$/, '');
}

/** The nodes the outputs depend on, each after its inputs. */
export function topological(nodes: Map<string, TfNode>, outputs: string[]): TfNode[] {
  const order: TfNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    const base = inputName(name).split(':')[0]!;
    if (state.get(base) === 'done') return;
    if (state.get(base) === 'visiting') throw new ConversionError(`the graph has a cycle through ${base}`);
    const node = nodes.get(base);
    if (!node) throw new ConversionError(`no node named ${base}`);
    state.set(base, 'visiting');
    for (const i of node.input ?? []) if (!i.startsWith('^')) visit(i);
    state.set(base, 'done');
    order.push(node);
  };
  for (const o of outputs) visit(o);
  return order;
}
