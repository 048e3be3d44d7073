/** What every detector takes and gives. Boxes are in the pixels of the image given. */
import type { PlateType } from '../contracts/plate.js';

/** rgb24, width × height × 3 bytes, row after row (what the camera stage hands over). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type PlateColor = 'blue' | 'yellow' | 'green' | 'white' | 'black';

export interface Detection {
  /** face, plate, person, car, fire, smoke, … */
  label: string;
  score: number;
  box: Box;
  /** Face keypoints (eyes, nose, mouth, ears) in image pixels. */
  landmarks?: Array<[number, number]>;
  /** A plate's reading, normalised (京A12345). */
  text?: string;
  color?: PlateColor;
  /** A plate's type (contracts/plate.ts) and its rows of characters (two-row: large vehicles' rear, trailers). */
  plateType?: PlateType;
  rows?: 1 | 2;
}

export interface Detector {
  readonly name: string;
  detect(image: RgbImage): Promise<Detection[]>;
}

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.w, b.x + b.w);
  const y2 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Intersection over the smaller box: 1 when one box holds the other (the same object seen at two scales). */
export function overlapOfSmaller(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.w, b.x + b.w);
  const y2 = Math.min(a.y + a.h, b.y + b.h);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const smaller = Math.min(a.w * a.h, b.w * b.h);
  return smaller > 0 ? inter / smaller : 0;
}

/** Greedy non-maximum suppression: the best of each overlapping group, best first. */
export function nms<T extends { score: number; box: Box }>(items: T[], threshold: number, overlap: (a: Box, b: Box) => number = iou): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const d of sorted) if (kept.every((k) => overlap(k.box, d.box) < threshold)) kept.push(d);
  return kept;
}
