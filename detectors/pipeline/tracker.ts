/**
 * One camera's tracks: the same person, car, plate or flame seen over consecutive frames is one
 * track with new / update / end events, and one best shot chosen by quality (size, sharpness,
 * and for faces how frontal they are), so the gateway records one capture per track, not per frame.
 * Matching is greedy IoU per label (plates also match by their reading: a car moves far between
 * two frames at 2 fps, its plate text does not change).
 */
import { crop } from '../image.js';
import { iou, type Box, type Detection, type RgbImage } from '../types.js';

export interface BestShot {
  at: number;
  box: Box;
  score: number;
  quality: number;
  /** The object with a margin around it, cut from the frame. */
  image: RgbImage;
  /** Where the object is inside `image`. */
  boxInImage: Box;
  /** The whole frame it was cut from (a reference, not a copy: frames are not reused), `box` is in it. */
  scene: RgbImage;
}

export interface Track {
  id: string;
  camera: string;
  label: string;
  firstAt: number;
  lastAt: number;
  /** Frames the track was seen in. */
  hits: number;
  /** Consecutive frames without it. */
  missed: number;
  box: Box;
  maxScore: number;
  /** Plates: the reading seen most often, and its colour. */
  text?: string;
  color?: string;
  best: BestShot;
  /** Set once the track has been seen in `minHits` frames and announced. */
  confirmed: boolean;
}

export type TrackEvent = { type: 'new' | 'update' | 'end'; track: Track };

export interface TrackerOptions {
  /** Least IoU between a track's last box and a detection for them to be the same object. */
  iou?: number;
  /** Frames a track may go unseen before it ends. */
  maxMissed?: number;
  /** Frames a track must be seen in before it is announced (one-frame flukes never are). */
  minHits?: number;
}

export class Tracker {
  private readonly tracks: Track[] = [];
  private readonly votes = new Map<string, Map<string, number>>();
  private next = 1;
  private readonly minIou: number;
  private readonly maxMissed: number;
  private readonly minHits: number;

  constructor(
    private readonly camera: string,
    opts: TrackerOptions = {},
  ) {
    this.minIou = opts.iou ?? 0.3;
    this.maxMissed = opts.maxMissed ?? 3;
    this.minHits = opts.minHits ?? 2;
  }

  get active(): readonly Track[] {
    return this.tracks;
  }

  update(detections: Detection[], image: RgbImage, at: number): TrackEvent[] {
    const events: TrackEvent[] = [];
    const unmatched = new Set(detections.map((_, i) => i));
    const seen = new Set<Track>();
    // Best pairs first: every (track, detection) of one label, by IoU (or same plate reading).
    const pairs: Array<{ t: Track; d: number; s: number }> = [];
    for (const t of this.tracks) {
      detections.forEach((d, i) => {
        if (d.label !== t.label) return;
        const s = d.text && d.text === t.text ? 1 + iou(t.box, d.box) : iou(t.box, d.box);
        if (s >= this.minIou) pairs.push({ t, d: i, s });
      });
    }
    pairs.sort((a, b) => b.s - a.s);
    for (const { t, d, s: _ } of pairs) {
      if (seen.has(t) || !unmatched.has(d)) continue;
      seen.add(t);
      unmatched.delete(d);
      this.observe(t, detections[d]!, image, at);
      if (!t.confirmed && t.hits >= this.minHits) {
        t.confirmed = true;
        events.push({ type: 'new', track: t });
      } else if (t.confirmed) events.push({ type: 'update', track: t });
    }
    for (const t of [...this.tracks]) {
      if (seen.has(t)) continue;
      if (++t.missed > this.maxMissed) events.push(...this.remove(t));
    }
    for (const i of unmatched) {
      const d = detections[i]!;
      const t: Track = {
        id: `${this.camera}-${at.toString(36)}-${this.next++}`,
        camera: this.camera,
        label: d.label,
        firstAt: at,
        lastAt: at,
        hits: 0,
        missed: 0,
        box: d.box,
        maxScore: 0,
        best: undefined as unknown as BestShot,
        confirmed: false,
      };
      this.tracks.push(t);
      this.observe(t, d, image, at);
      if (this.minHits <= 1) {
        t.confirmed = true;
        events.push({ type: 'new', track: t });
      }
    }
    return events;
  }

  /** Ends every track (the camera stopped, the gateway stops). */
  flush(): TrackEvent[] {
    return [...this.tracks].flatMap((t) => this.remove(t));
  }

  private remove(t: Track): TrackEvent[] {
    this.tracks.splice(this.tracks.indexOf(t), 1);
    this.votes.delete(t.id);
    return t.confirmed ? [{ type: 'end', track: t }] : [];
  }

  private observe(t: Track, d: Detection, image: RgbImage, at: number): void {
    t.hits++;
    t.missed = 0;
    t.lastAt = at;
    t.box = d.box;
    t.maxScore = Math.max(t.maxScore, d.score);
    if (d.text) {
      const v = this.votes.get(t.id) ?? new Map<string, number>();
      v.set(d.text, (v.get(d.text) ?? 0) + 1);
      this.votes.set(t.id, v);
      t.text = [...v].sort((a, b) => b[1] - a[1])[0]![0];
      if (d.text === t.text && d.color) t.color = d.color;
    }
    const q = quality(d, image);
    if (!t.best || q > t.best.quality) {
      const margin = { x: d.box.w * 0.2, y: d.box.h * 0.2 };
      const region = clampBox(
        { x: d.box.x - margin.x, y: d.box.y - margin.y, w: d.box.w + 2 * margin.x, h: d.box.h + 2 * margin.y },
        image,
      );
      const cut = crop(image, region);
      t.best = {
        at,
        box: d.box,
        score: d.score,
        quality: q,
        image: cut,
        boxInImage: { x: d.box.x - Math.floor(region.x), y: d.box.y - Math.floor(region.y), w: d.box.w, h: d.box.h },
        scene: image,
      };
    }
  }
}

function clampBox(b: Box, image: RgbImage): Box {
  const x = Math.max(0, b.x);
  const y = Math.max(0, b.y);
  return { x, y, w: Math.min(image.width, b.x + b.w) - x, h: Math.min(image.height, b.y + b.h) - y };
}

/**
 * How good a picture of the object this detection is, 0..1: confident, large, sharp, and for
 * faces frontal (the nose midway between the eyes).
 */
export function quality(d: Detection, image: RgbImage): number {
  const size = Math.min(1, Math.sqrt(d.box.w * d.box.h) / 160);
  const sharp = Math.min(1, sharpness(image, d.box) / 400);
  let frontal = 1;
  if (d.label === 'face' && d.landmarks && d.landmarks.length >= 3) {
    const [r, l, nose] = d.landmarks as [[number, number], [number, number], [number, number]];
    const half = Math.abs(l[0] - r[0]) / 2;
    frontal = half > 0 ? Math.max(0, 1 - Math.abs(nose[0] - (l[0] + r[0]) / 2) / half) : 0;
  }
  return d.score * (0.4 + 0.6 * size) * (0.5 + 0.5 * sharp) * (0.4 + 0.6 * frontal);
}

/** Variance of the Laplacian of the grey box (sampled on a grid of at most 64×64): blur lowers it. */
export function sharpness(image: RgbImage, box: Box): number {
  const x0 = Math.max(1, Math.floor(box.x));
  const y0 = Math.max(1, Math.floor(box.y));
  const x1 = Math.min(image.width - 2, Math.floor(box.x + box.w));
  const y1 = Math.min(image.height - 2, Math.floor(box.y + box.h));
  if (x1 <= x0 || y1 <= y0) return 0;
  const step = Math.max(1, Math.floor(Math.max(x1 - x0, y1 - y0) / 64));
  const grey = (x: number, y: number) => {
    const p = (y * image.width + x) * 3;
    return 0.299 * image.data[p]! + 0.587 * image.data[p + 1]! + 0.114 * image.data[p + 2]!;
  };
  let n = 0,
    sum = 0,
    sq = 0;
  for (let y = y0; y <= y1; y += step) {
    for (let x = x0; x <= x1; x += step) {
      const lap = 4 * grey(x, y) - grey(x - 1, y) - grey(x + 1, y) - grey(x, y - 1) - grey(x, y + 1);
      n++;
      sum += lap;
      sq += lap * lap;
    }
  }
  return n ? sq / n - (sum / n) ** 2 : 0;
}
