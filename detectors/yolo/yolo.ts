/**
 * A deployment's own YOLO model (a trained fire/smoke, helmet or muck-truck model exported to
 * ONNX), with its class names from the config. Both common output layouts are read:
 * - YOLOv5/v7: [1, N, 5 + C] rows of cx, cy, w, h, objectness, C class scores;
 * - YOLOv8/v11: [1, 4 + C, N] columns of cx, cy, w, h, C class scores (no objectness).
 * Input: RGB 0..1, NCHW, letterboxed with grey (114) to the model's square input size.
 */
import { existsSync } from 'node:fs';
import { ort, run, session } from '../models.js';
import { sample } from '../image.js';
import { nms, type Detection, type Detector, type RgbImage } from '../types.js';

export type YoloLayout = 'auto' | 'v5' | 'v8';

export interface YoloOptions {
  /** Path of the .onnx file. */
  model: string;
  /** Class names in the model's order. */
  labels: string[];
  layout?: YoloLayout;
  minScore?: number;
  /** IoU above which two boxes of a class are one object. */
  iou?: number;
  threads?: number;
}

export class YoloError extends Error {}

export class YoloDetector implements Detector {
  readonly name = 'yolo';
  private readonly minScore: number;

  constructor(private readonly opts: YoloOptions) {
    if (!existsSync(opts.model)) throw new YoloError(`YOLO model ${opts.model} does not exist`);
    if (!opts.labels.length) throw new YoloError('a YOLO model needs its class names (labels)');
    this.minScore = opts.minScore ?? 0.4;
  }

  async detect(image: RgbImage): Promise<Detection[]> {
    const s = await session(this.opts.model, this.opts.threads ?? 1);
    const input = s.inputNames[0]!;
    const size = inputSize(s, input);
    const at = sample(
      image,
      { x: 0, y: 0, w: image.width, h: image.height },
      size,
      size,
      { layout: 'nchw', order: 'rgb', mean: [0, 0, 0], std: [1, 1, 1], pad: 114 },
      true,
    );
    const out = (await run(s, { [input]: new ort.Tensor('float32', at.tensor, [1, 3, size, size]) }))[s.outputNames[0]!]!;
    const rows = this.rows(out.data as Float32Array, out.dims as number[]);
    const found: Detection[] = [];
    for (const r of rows) {
      const x1 = (r.cx - r.w / 2 - at.dx) / at.scale;
      const y1 = (r.cy - r.h / 2 - at.dy) / at.scale;
      const x = Math.max(0, x1);
      const y = Math.max(0, y1);
      const w = Math.min(image.width, x1 + r.w / at.scale) - x;
      const h = Math.min(image.height, y1 + r.h / at.scale) - y;
      if (w > 1 && h > 1) found.push({ label: this.opts.labels[r.cls]!, score: r.score, box: { x, y, w, h } });
    }
    const byLabel = new Map<string, Detection[]>();
    for (const d of found) byLabel.set(d.label, [...(byLabel.get(d.label) ?? []), d]);
    return [...byLabel.values()].flatMap((g) => nms(g, this.opts.iou ?? 0.45)).sort((a, b) => b.score - a.score);
  }

  /** Candidate boxes above the score threshold, in model input pixels. */
  private rows(data: Float32Array, dims: number[]): Array<{ cx: number; cy: number; w: number; h: number; score: number; cls: number }> {
    const C = this.opts.labels.length;
    if (dims.length !== 3 || dims[0] !== 1)
      throw new YoloError(`YOLO output of shape [${dims}] is not [1, N, 5+C] (v5) or [1, 4+C, N] (v8)`);
    const [, a, b] = dims as [number, number, number];
    const layout = this.opts.layout && this.opts.layout !== 'auto' ? this.opts.layout : b === 5 + C ? 'v5' : a === 4 + C ? 'v8' : undefined;
    if (layout === 'v5' && b !== 5 + C) throw new YoloError(`YOLOv5 output rows have ${b} values; ${C} labels need ${5 + C}`);
    if (layout === 'v8' && a !== 4 + C) throw new YoloError(`YOLOv8 output has ${a} channels; ${C} labels need ${4 + C}`);
    if (!layout)
      throw new YoloError(
        `YOLO output of shape [${dims}] fits neither layout with ${C} labels (v5 wants [1, N, ${5 + C}], v8 [1, ${4 + C}, N]): check ` +
          `the labels`,
      );
    const out = [];
    const n = layout === 'v5' ? a : b;
    // v5 rows are contiguous; v8 stores each value as a plane of N.
    const at = layout === 'v5' ? (i: number, k: number) => data[i * b + k]! : (i: number, k: number) => data[k * b + i]!;
    const first = layout === 'v5' ? 5 : 4;
    for (let i = 0; i < n; i++) {
      const objectness = layout === 'v5' ? at(i, 4) : 1;
      if (objectness < this.minScore) continue;
      let cls = 0;
      let best = -Infinity;
      for (let c = 0; c < C; c++) {
        const v = at(i, first + c);
        if (v > best) {
          best = v;
          cls = c;
        }
      }
      const score = objectness * best;
      if (score >= this.minScore) out.push({ cx: at(i, 0), cy: at(i, 1), w: at(i, 2), h: at(i, 3), score, cls });
    }
    return out;
  }
}

function inputSize(s: ort.InferenceSession, input: string): number {
  // onnxruntime-node exposes input shapes through inputMetadata (1.20+); dynamic sizes fall back to 640.
  const meta = (s as unknown as { inputMetadata?: Array<{ name: string; shape?: Array<number | string> }> }).inputMetadata;
  const shape = meta?.find((m) => m.name === input)?.shape;
  const side = shape?.[3];
  return typeof side === 'number' && side > 0 ? side : 640;
}
