/**
 * One camera's tracks: the same person, car, plate or flame seen over consecutive frames is one
 * track with new / update / end events, and one best shot chosen by quality (size, sharpness,
 * and for faces how frontal they are), so the gateway records one capture per track, not per frame.
 *
 * Association, per label, is SORT/ByteTrack-style:
 * - every track carries a constant-velocity Kalman filter of its box centre (one per axis, time in
 *   seconds, so uneven frame gaps are fine), and detections are matched to where the track is
 *   predicted to be now, not where it was: at 2 fps a car crossing a 640-pixel frame in 2 s moves
 *   more than its own width between frames, which no IoU against the last box follows;
 * - a pair counts when the predicted box overlaps the detection (IoU), or, failing that, when the
 *   detection's centre is inside the filter's gate (squared Mahalanobis distance under the
 *   chi-square 95 % bound for 2 degrees of freedom) and the sizes agree: a new track's velocity is
 *   unknown, so its gate is wide; a steady track's is narrow;
 * - confident detections are matched first, then the low-score ones (ByteTrack) only to the tracks
 *   still unmatched: a car half hidden behind a post keeps its track, and a low-score box never
 *   starts one;
 * - plates also match by their reading: a car moves far between two frames, its plate text does not.
 * A face that is lost (turned away, hidden) stays matchable at the place it was last seen for
 * `reacquireMs`: the same person coming back is one track and one capture, not two.
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
  /** The filtered velocity of the box centre, pixels per second. */
  velocity: { x: number; y: number };
  /** Times it was found again after being lost for longer than `maxMissed` frames. */
  reacquired: number;
}

export type TrackEvent = { type: 'new' | 'update' | 'end'; track: Track };

export interface TrackerOptions {
  /** Least IoU between a track's last box and a detection for them to be the same object. */
  iou?: number;
  /** Frames a track may go unseen before it ends. */
  maxMissed?: number;
  /** Frames a track must be seen in before it is announced (one-frame flukes never are). */
  minHits?: number;
  /**
   * Per label, the score under which a detection only continues a track (ByteTrack's second
   * stage) and never starts one. Labels not given: every detection may start a track.
   */
  highScore?: Readonly<Record<string, number>>;
  /** Per label, ms a lost track stays matchable where it was last seen after `maxMissed` frames. */
  reacquireMs?: Readonly<Record<string, number>>;
}

/** Chi-square 0.95 quantile, 2 degrees of freedom: the gate on the centre's Mahalanobis distance. */
const GATE = 5.991;

/**
 * A constant-velocity Kalman filter of one coordinate: state [position, velocity], the process
 * noise a white acceleration of spectral density `q` (Bar-Shalom's discrete model).
 */
class Axis {
  p: number;
  v = 0;
  // Covariance [[a, b], [b, c]].
  private a: number;
  private b = 0;
  private c: number;

  constructor(z: number, posVar: number, velVar: number) {
    this.p = z;
    this.a = posVar;
    this.c = velVar;
  }

  predict(dt: number, q: number): void {
    if (dt <= 0) return;
    this.p += this.v * dt;
    const { a, b, c } = this;
    this.a = a + 2 * dt * b + dt * dt * c + (q * dt ** 3) / 3;
    this.b = b + dt * c + (q * dt * dt) / 2;
    this.c = c + q * dt;
  }

  /** Variance of a measurement against this prediction. */
  innovation(r: number): number {
    return this.a + r;
  }

  update(z: number, r: number): void {
    const s = this.a + r;
    const k0 = this.a / s;
    const k1 = this.b / s;
    const y = z - this.p;
    this.p += k0 * y;
    this.v += k1 * y;
    const { a, b, c } = this;
    this.a = (1 - k0) * a;
    this.b = (1 - k0) * b;
    this.c = c - k1 * b;
  }
}

interface Motion {
  x: Axis;
  y: Axis;
  at: number;
}

const centre = (b: Box): [number, number] => [b.x + b.w / 2, b.y + b.h / 2];
const size = (b: Box) => Math.sqrt(Math.max(1, b.w * b.h));

/** Measurement noise: a detector's box centre is good to a tenth of the box. */
const measureVar = (b: Box) => (0.1 * size(b)) ** 2;
/** A new object's speed is unknown: up to a few of its own sizes per second. */
const startVelVar = (b: Box) => (3 * size(b)) ** 2;
/** How hard objects change speed: about one size per second squared. */
const accelDensity = (b: Box) => size(b) ** 2;

export class Tracker {
  private readonly tracks: Track[] = [];
  private readonly votes = new Map<string, Map<string, number>>();
  private next = 1;
  private readonly minIou: number;
  private readonly maxMissed: number;
  private readonly minHits: number;
  private readonly motion = new Map<Track, Motion>();

  constructor(
    private readonly camera: string,
    private readonly opts: TrackerOptions = {},
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
    for (const t of this.tracks) this.predict(t, at);
    const seen = new Set<Track>();
    const high = (d: Detection) => d.score >= (this.opts.highScore?.[d.label] ?? 0);
    const idx = detections.map((_, i) => i);
    const confident = idx.filter((i) => high(detections[i]!));
    const weak = idx.filter((i) => !high(detections[i]!));
    const matched = new Set<number>();
    for (const stage of [confident, weak]) {
      for (const { t, d } of this.pairs(stage, detections, seen)) {
        if (seen.has(t) || matched.has(d)) continue;
        seen.add(t);
        matched.add(d);
        if (t.missed > this.maxMissed) t.reacquired++;
        this.observe(t, detections[d]!, image, at);
        if (!t.confirmed && t.hits >= this.minHits) {
          t.confirmed = true;
          events.push({ type: 'new', track: t });
        } else if (t.confirmed) events.push({ type: 'update', track: t });
      }
    }
    for (const t of [...this.tracks]) {
      if (seen.has(t)) continue;
      t.missed++;
      const keep = t.confirmed ? (this.opts.reacquireMs?.[t.label] ?? 0) : 0;
      if (t.missed > this.maxMissed && at - t.lastAt > keep) events.push(...this.remove(t));
    }
    for (const i of confident) {
      if (matched.has(i)) continue;
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
        velocity: { x: 0, y: 0 },
        reacquired: 0,
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

  /** Where the track's box is expected now. */
  predicted(t: Track): Box {
    const m = this.motion.get(t);
    if (!m) return t.box;
    return { x: m.x.p - t.box.w / 2, y: m.y.p - t.box.h / 2, w: t.box.w, h: t.box.h };
  }

  private predict(t: Track, at: number): void {
    const m = this.motion.get(t);
    if (!m || t.missed > this.maxMissed) return; // a lost track waits where it was last seen
    const q = accelDensity(t.box);
    m.x.predict((at - m.at) / 1000, q);
    m.y.predict((at - m.at) / 1000, q);
    m.at = at;
  }

  /**
   * Candidate (track, detection) pairs, best first: by IoU against the prediction (a plate's
   * same reading ranks above any overlap), then by gate distance for pairs that do not overlap.
   */
  private pairs(stage: number[], detections: Detection[], taken: Set<Track>): Array<{ t: Track; d: number }> {
    const out: Array<{ t: Track; d: number; s: number }> = [];
    for (const t of this.tracks) {
      if (taken.has(t)) continue;
      const lost = t.missed > this.maxMissed;
      const box = lost ? t.box : this.predicted(t);
      for (const i of stage) {
        const d = detections[i]!;
        if (d.label !== t.label) continue;
        const overlap = iou(box, d.box);
        if (d.text && d.text === t.text) out.push({ t, d: i, s: 2 + overlap });
        else if (overlap >= this.minIou) out.push({ t, d: i, s: 1 + overlap });
        else if (similarSize(t.box, d.box)) {
          const g = lost ? near(t.box, d.box) : this.gate(t, d.box);
          if (g < GATE) out.push({ t, d: i, s: 1 - g / GATE });
        }
      }
    }
    return out.sort((a, b) => b.s - a.s);
  }

  /** Squared Mahalanobis distance of a box centre from the track's predicted centre. */
  private gate(t: Track, b: Box): number {
    const m = this.motion.get(t);
    if (!m) return Number.POSITIVE_INFINITY;
    const [zx, zy] = centre(b);
    const r = measureVar(b);
    return (zx - m.x.p) ** 2 / m.x.innovation(r) + (zy - m.y.p) ** 2 / m.y.innovation(r);
  }

  /** Ends every track (the camera stopped, the gateway stops). */
  flush(): TrackEvent[] {
    return [...this.tracks].flatMap((t) => this.remove(t));
  }

  private remove(t: Track): TrackEvent[] {
    this.tracks.splice(this.tracks.indexOf(t), 1);
    this.votes.delete(t.id);
    this.motion.delete(t);
    return t.confirmed ? [{ type: 'end', track: t }] : [];
  }

  private observe(t: Track, d: Detection, image: RgbImage, at: number): void {
    // A track found again after it was lost starts its motion afresh: its old velocity is stale.
    const fresh = !this.motion.has(t) || t.missed > this.maxMissed;
    t.hits++;
    t.missed = 0;
    t.lastAt = at;
    t.box = d.box;
    const [zx, zy] = centre(d.box);
    const r = measureVar(d.box);
    let m = this.motion.get(t);
    if (!m || fresh) {
      m = { x: new Axis(zx, r, startVelVar(d.box)), y: new Axis(zy, r, startVelVar(d.box)), at };
      this.motion.set(t, m);
    } else {
      m.x.update(zx, r);
      m.y.update(zy, r);
      m.at = at;
    }
    t.velocity = { x: m.x.v, y: m.y.v };
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

/** Boxes of one object in two frames: sides within a factor of two of each other. */
function similarSize(a: Box, b: Box): boolean {
  const rw = a.w / b.w;
  const rh = a.h / b.h;
  return rw > 0.5 && rw < 2 && rh > 0.5 && rh < 2;
}

/**
 * A lost track found again where it was last seen: the centre within about one size of the
 * last box, scaled so that one size is the gate (no velocity: it may have stopped or turned).
 */
function near(last: Box, b: Box): number {
  const [ax, ay] = centre(last);
  const [bx, by] = centre(b);
  return (((ax - bx) ** 2 + (ay - by) ** 2) / size(last) ** 2) * GATE;
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
