/**
 * People and vehicles with the COCO CenterNet (MobileNetV3 backbone, 512×512 input, 0..255 RGB,
 * NHWC), converted from tfjs to ONNX by model.ts. The network gives a 128×128 heat map per class
 * and, per cell, the distances from the centre to the box's four sides; peaks of the heat map
 * (cells that are the highest of their 3×3 neighbourhood) are objects.
 */
import { ort, run, session } from '../models.js';
import { sample } from '../image.js';
import { nms, type Detection, type Detector, type RgbImage } from '../types.js';
import { COCO_LABELS, DEFAULT_OBJECT_LABELS, OBJECT_MIN_SCORE } from './labels.js';
import { CENTERNET_INPUT, objectModel } from './model.js';

export { COCO_LABELS, DEFAULT_OBJECT_LABELS };

const SIZE = 512;
const GRID = 128;
const STRIDE = SIZE / GRID;

export interface ObjectOptions {
  /** Lowest score kept, 0..1. */
  minScore?: number;
  /** COCO labels reported (default: people and vehicles); ['*'] for all 80. */
  labels?: string[];
  threads?: number;
}

export interface RawObjectOutput {
  keypoints: Float32Array;
  wh: Float32Array;
}

export class ObjectDetector implements Detector {
  readonly name = 'object';
  private readonly minScore: number;
  private readonly classes: Set<number>;
  private readonly input = new Float32Array(SIZE * SIZE * 3);

  constructor(private readonly opts: ObjectOptions = {}) {
    this.minScore = opts.minScore ?? OBJECT_MIN_SCORE;
    const labels = opts.labels ?? DEFAULT_OBJECT_LABELS;
    const all = labels.includes('*');
    for (const l of labels)
      if (l !== '*' && !(COCO_LABELS as readonly string[]).includes(l))
        throw new Error(`unknown object label "${l}" (COCO labels: ${COCO_LABELS.join(', ')})`);
    this.classes = new Set(COCO_LABELS.flatMap((l, i) => (all || labels.includes(l) ? [i] : [])));
  }

  /** The network's input for a picture: letterboxed to 512×512, RGB 0..255, NHWC. */
  preprocess(image: RgbImage): { tensor: Float32Array; scale: number; dx: number; dy: number } {
    // One input buffer per detector, reused (3 MB a frame otherwise): one frame at a time per detector.
    return sample(
      image,
      { x: 0, y: 0, w: image.width, h: image.height },
      SIZE,
      SIZE,
      { layout: 'nhwc', order: 'rgb', mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255], pad: 114 },
      true,
      this.input,
    );
  }

  /** The bare model: one inference on a prepared input. */
  async infer(tensor: Float32Array): Promise<RawObjectOutput> {
    const s = await session(await objectModel(), this.opts.threads ?? 1);
    const out = await run(s, { [CENTERNET_INPUT]: new ort.Tensor('float32', tensor, [1, SIZE, SIZE, 3]) });
    return { keypoints: out['tower_0/keypoints']!.data as Float32Array, wh: out['tower_0/wh']!.data as Float32Array };
  }

  async detect(image: RgbImage): Promise<Detection[]> {
    const input = this.preprocess(image);
    const raw = await this.infer(input.tensor);
    return this.decode(raw, image, input);
  }

  /** Heat-map peaks → boxes in the picture's pixels, one best box per overlapping group of a class. */
  decode(raw: RawObjectOutput, image: RgbImage, at: { scale: number; dx: number; dy: number }): Detection[] {
    const { keypoints, wh } = raw;
    const C = COCO_LABELS.length;
    const found: Detection[] = [];
    for (let y = 0; y < GRID; y++) {
      for (let x = 0; x < GRID; x++) {
        const cell = (y * GRID + x) * C;
        for (const c of this.classes) {
          const v = keypoints[cell + c]!;
          if (v < this.minScore || !isPeak(keypoints, x, y, c, v)) continue;
          const k = (y * GRID + x) * 4;
          const x1 = (x * STRIDE - wh[k]! - at.dx) / at.scale;
          const y1 = (y * STRIDE - wh[k + 1]! - at.dy) / at.scale;
          const x2 = (x * STRIDE + wh[k + 2]! - at.dx) / at.scale;
          const y2 = (y * STRIDE + wh[k + 3]! - at.dy) / at.scale;
          const bx = Math.max(0, x1);
          const by = Math.max(0, y1);
          const box = { x: bx, y: by, w: Math.min(image.width, x2) - bx, h: Math.min(image.height, y2) - by };
          if (box.w > 1 && box.h > 1) found.push({ label: COCO_LABELS[c]!, score: v, box });
        }
      }
    }
    const byLabel = new Map<string, Detection[]>();
    for (const d of found) byLabel.set(d.label, [...(byLabel.get(d.label) ?? []), d]);
    return [...byLabel.values()].flatMap((group) => nms(group, 0.5)).sort((a, b) => b.score - a.score);
  }
}

/** The highest of its 3×3 neighbourhood in its class's heat map (the network's own max-pool decoding). */
function isPeak(map: Float32Array, x: number, y: number, c: number, v: number): boolean {
  const C = COCO_LABELS.length;
  for (let ny = Math.max(0, y - 1); ny <= Math.min(GRID - 1, y + 1); ny++) {
    for (let nx = Math.max(0, x - 1); nx <= Math.min(GRID - 1, x + 1); nx++) {
      if (map[(ny * GRID + nx) * C + c]! > v) return false;
    }
  }
  return true;
}
