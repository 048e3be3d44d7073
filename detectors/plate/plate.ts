/**
 * Chinese licence plates without a dedicated plate model (none ships offline): find text
 * regions, read them, keep the readings that are plates, and tell the plate's colour from the
 * region's pixels.
 */
import { parsePlate, plateType } from '../../contracts/plate.js';
import { crop } from '../image.js';
import type { Box, Detection, Detector, PlateColor, RgbImage } from '../types.js';
import { detectText, readText, type OcrOptions } from './ocr.js';

/** The plate's background colour, from the share of each colour among the region's pixels. */
export function plateColor(image: RgbImage): PlateColor {
  const counts: Record<PlateColor, number> = { blue: 0, yellow: 0, green: 0, white: 0, black: 0 };
  const { data } = image;
  const n = data.length / 3;
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i]! / 255,
      g = data[i + 1]! / 255,
      b = data[i + 2]! / 255;
    const max = Math.max(r, g, b),
      min = Math.min(r, g, b);
    const v = max;
    const s = max === 0 ? 0 : (max - min) / max;
    let h = 0;
    if (max !== min) {
      if (max === r) h = (60 * ((g - b) / (max - min)) + 360) % 360;
      else if (max === g) h = 60 * ((b - r) / (max - min)) + 120;
      else h = 60 * ((r - g) / (max - min)) + 240;
    }
    if (v < 0.25) counts.black++;
    else if (s < 0.2 && v > 0.6) counts.white++;
    else if (s >= 0.35 && h >= 190 && h <= 255) counts.blue++;
    else if (s >= 0.35 && h >= 35 && h < 70) counts.yellow++;
    else if (s >= 0.2 && h >= 70 && h < 170) counts.green++;
  }
  const chromatic = (['blue', 'yellow', 'green'] as const).reduce((a, c) => (counts[c] > counts[a] ? c : a), 'blue' as PlateColor);
  if (counts[chromatic] >= 0.3 * n) return chromatic;
  return counts.white >= counts.black ? 'white' : 'black';
}

export interface PlateOptions extends OcrOptions {
  /** Lowest reading confidence kept. */
  minScore?: number;
}

export class PlateDetector implements Detector {
  readonly name = 'plate';

  constructor(private readonly opts: PlateOptions = {}) {}

  async detect(image: RgbImage): Promise<Detection[]> {
    const minScore = this.opts.minScore ?? 0.5;
    const rows: Array<{ box: Box; score: number; text: string; reading: number }> = [];
    for (const r of lines(await detectText(image, this.opts))) {
      // A plate's row of characters is wider than tall; a two-row plate's top row (京·A) least so.
      if (r.box.w < r.box.h * 1.2) continue;
      // Read with a margin: the text detector's box may clip the first or last character's strokes.
      const m = r.box.h * 0.15;
      const x = Math.max(0, r.box.x - m);
      const padded = { x, y: r.box.y, w: Math.min(image.width, r.box.x + r.box.w + m) - x, h: r.box.h };
      const reading = await readText(image, padded, this.opts.threads);
      rows.push({ box: r.box, score: r.score, text: reading.text, reading: reading.score });
    }
    const found: Detection[] = [];
    const used = new Set<number>();
    const add = (text: string, box: Box, score: number, lines: 1 | 2) => {
      const color = plateColor(crop(image, box));
      const type = plateType(text, color);
      found.push({ label: 'plate', score, box, text, color, rows: lines, ...(type ? { plateType: type } : {}) });
    };
    // Two-row plates (GA 36-2018: large vehicles' rear plates, trailers, motorcycles): the province
    // character and letter in a short top row over the serial in a taller one. Read as two text
    // rows; a pair stacked like that whose joined text is a plate is one plate.
    rows.forEach((top, i) => {
      rows.forEach((bottom, j) => {
        if (i === j || used.has(i) || used.has(j) || !stacked(top.box, bottom.box)) return;
        const text = parsePlate(top.text + bottom.text);
        const reading = Math.min(top.reading, bottom.reading);
        if (!text || reading < minScore) return;
        used.add(i);
        used.add(j);
        add(text, union(top.box, bottom.box), reading * Math.min(top.score, bottom.score), 2);
      });
    });
    rows.forEach((r, i) => {
      // One-row plates are about 3:1 (440 × 140 mm).
      if (used.has(i) || r.box.w < r.box.h * 1.5) return;
      const text = parsePlate(r.text);
      if (text && r.reading >= minScore) add(text, r.box, r.reading * r.score, 1);
    });
    return found;
  }
}

/**
 * Text regions joined into lines: regions side by side on one level, no further apart than their
 * height, are one row of characters. The text detector often splits a plate's row at the dot after
 * the letter, or around a Chinese character set apart from the serial.
 */
function lines(regions: Array<{ box: Box; score: number }>): Array<{ box: Box; score: number }> {
  const out = [...regions].sort((a, b) => a.box.x - b.box.x).map((r) => ({ ...r }));
  for (let merged = true; merged; ) {
    merged = false;
    for (let i = 0; i < out.length && !merged; i++) {
      for (let j = i + 1; j < out.length && !merged; j++) {
        const a = out[i]!.box;
        const b = out[j]!.box;
        const overlap = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
        const gap = Math.max(a.x, b.x) - Math.min(a.x + a.w, b.x + b.w);
        const h = Math.max(a.h, b.h);
        if (overlap >= 0.6 * Math.min(a.h, b.h) && Math.min(a.h, b.h) >= 0.6 * h && gap <= h) {
          out[i] = { box: union(a, b), score: Math.min(out[i]!.score, out[j]!.score) };
          out.splice(j, 1);
          merged = true;
        }
      }
    }
  }
  return out;
}

/** Whether `top` sits over `bottom` as a two-row plate's rows do: above it, close, centred, no larger. */
function stacked(top: Box, bottom: Box): boolean {
  const gap = bottom.y - (top.y + top.h);
  const centres = Math.abs(top.x + top.w / 2 - (bottom.x + bottom.w / 2));
  return (
    gap > -0.3 * bottom.h &&
    gap < 0.8 * bottom.h &&
    top.h <= bottom.h * 1.1 &&
    top.h >= bottom.h * 0.3 &&
    top.w <= bottom.w * 1.1 &&
    centres < 0.25 * bottom.w
  );
}

function union(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}
