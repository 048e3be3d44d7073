/**
 * Chinese licence plates without a dedicated plate model (none ships offline): find text
 * regions, read them, keep the readings that are plates, and tell the plate's colour from the
 * region's pixels.
 */
import { crop } from '../image.js';
import type { Detection, Detector, PlateColor, RgbImage } from '../types.js';
import { detectText, readText, type OcrOptions } from './ocr.js';

/** Province (and region) abbreviations that open a civil plate. */
const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
/** Ordinary (5 after the letter), new-energy (6), and trailer/coach/police/HK-Macao (4 and a character). */
const PLATE = new RegExp(`^([${PROVINCES}])([A-HJ-NP-Z])([A-Z0-9]{5}|[A-Z0-9]{6}|[A-Z0-9]{4}[挂学警港澳])$`);

/**
 * A normalised plate (京A12345, 粤BD12345), or undefined when the text is not one.
 * `·`, `-`, `.` and spaces between the letter and the rest are one separator and dropped; O and
 * I, never used on plates, are read as 0 and 1 after the issuing letter.
 */
export function parsePlate(raw: string): string | undefined {
  let compact = raw
    .trim()
    .toUpperCase()
    .replace(/[·•・\-.\s。，,]/g, '');
  // I is never an issuing letter: an I between the province and a letter is the province
  // character's last stroke read twice.
  if (compact[1] === 'I' && /[A-Z]/.test(compact[2] ?? '')) compact = compact[0]! + compact.slice(2);
  if (compact.length < 7 || compact.length > 9) return undefined;
  const fixed = compact.slice(0, 2) + compact.slice(2).replace(/O/g, '0').replace(/I/g, '1');
  const m = PLATE.exec(fixed);
  if (!m) return undefined;
  const tail = m[3]!;
  // New-energy plates (6 after the letter) start or end with D or F.
  if (tail.length === 6 && !/^[DF]|[DF]$/.test(tail)) return undefined;
  return fixed;
}

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
    const regions = await detectText(image, this.opts);
    const found: Detection[] = [];
    for (const r of regions) {
      // Plates are wider than tall (about 3:1); skip shapes that cannot be one.
      if (r.box.w < r.box.h * 1.5) continue;
      const reading = await readText(image, r.box, this.opts.threads);
      const text = parsePlate(reading.text);
      if (!text || reading.score < (this.opts.minScore ?? 0.5)) continue;
      found.push({ label: 'plate', score: reading.score * r.score, box: r.box, text, color: plateColor(crop(image, r.box)) });
    }
    return found;
  }
}
