/**
 * Fire and smoke from colour and change, for cameras with no trained model (none ships
 * offline). Flame: pixels that pass RGB and YCbCr flame rules (red over green over blue, Cr well
 * above Cb, brighter than the frame's mean) and that flicker from frame to frame. Smoke: grey,
 * low-saturation pixels that were not there before (against a slow background) and spread.
 * One instance per camera: it keeps a few frames of history. A single picture gets the colour
 * evidence only, scored lower.
 */
import { MOTOR_VEHICLE_LABELS } from '../object/labels.js';
import type { Box, Detection, Detector, RgbImage } from '../types.js';

export interface FireOptions {
  /** Frames are read at this width (height in proportion): the rules need no detail. */
  width?: number;
  /** Smallest region, as a share of the frame. */
  minArea?: number;
  minScore?: number;
  /** Frames of history for flicker and spread. */
  history?: number;
}

interface Small {
  w: number;
  h: number;
  /** Intensity per cell, 0..255. */
  gray: Float32Array;
  fire: Uint8Array;
  smoke: Uint8Array;
}

export class FireDetector implements Detector {
  readonly name = 'fire';
  private readonly past: Small[] = [];
  private background?: Float32Array;

  constructor(private readonly opts: FireOptions = {}) {}

  async detect(image: RgbImage): Promise<Detection[]> {
    const last = this.past[this.past.length - 1];
    if (last && Math.round((image.height * last.w) / image.width) !== last.h) this.reset(); // another camera or picture size
    let small = this.reduce(image);
    if (last && changedShare(small.gray, last.gray) > 0.5) {
      // A cut (another scene, the camera moved, the lights came on): what was history is not
      // this scene's past, and comparing with it would see flicker and spreading grey everywhere.
      this.reset();
      small = this.reduce(image);
    }
    const found: Detection[] = [];
    const sx = image.width / small.w;
    const sy = image.height / small.h;
    const minCells = Math.max(4, (this.opts.minArea ?? 0.002) * small.w * small.h);
    const history = this.past;
    for (const r of regions(small.fire, small.w, small.h)) {
      if (r.cells < minCells) continue;
      const colour = Math.min(1, r.cells / (minCells * 4)) * 0.5 + 0.5;
      const f = history.length ? flickerOf(small, history, r) : undefined;
      const flicker = f?.magnitude;
      // Flames flicker: a mean change of 8+ grey levels between frames inside the region is typical; lamps and signs stay still.
      // A still picture has colour evidence only: scored under the default threshold, so it is
      // reported only when asked for (minScore lowered), never as a confident fire.
      let score = flicker === undefined ? 0.45 * colour : colour * 0.4 + Math.min(1, flicker / 8) * 0.6;
      // Not a flame however bright and flickering: a change that is one change of the whole region
      // (a lamp switching, a sunset dimming), smooth across it (a rotating beacon's lobe), or a
      // boundary that does not move (a blinking lamp is the same disk every time it is lit).
      if (f && !flameLike(f)) score *= 0.3;
      if (score >= (this.opts.minScore ?? 0.5)) found.push({ label: 'fire', score, box: scale(r, sx, sy) });
    }
    if (this.background) {
      // Smoke is patchy at this scale: join cells a gap apart before finding regions.
      for (const r of regions(dilate(small.smoke, small.w, small.h), small.w, small.h)) {
        r.cells = r.members.reduce((n, i) => n + small.smoke[i]!, 0);
        if (r.cells < minCells * 2) continue;
        // Spreading: larger than at its smallest in the last few frames (wind makes plumes breathe).
        const before = history.length ? Math.min(...history.map((h) => countIn(h.smoke, small.w, r))) : 0;
        const growth = before ? r.cells / before : 2;
        const score = Math.min(1, r.cells / (minCells * 8)) * 0.5 + Math.min(1, Math.max(0, growth - 1)) * 0.5;
        if (score >= (this.opts.minScore ?? 0.5)) found.push({ label: 'smoke', score, box: scale(r, sx, sy) });
      }
    }
    this.remember(small);
    return found;
  }

  /** Forgets the history (a camera reconnected, or a new still picture). */
  reset(): void {
    this.past.length = 0;
    this.background = undefined;
  }

  private remember(small: Small): void {
    this.past.push(small);
    if (this.past.length > (this.opts.history ?? 4)) this.past.shift();
    // A slow background, so smoke is "grey and new" rather than "grey".
    if (!this.background) this.background = Float32Array.from(small.gray);
    else for (let i = 0; i < small.gray.length; i++) this.background[i] = this.background[i]! * 0.98 + small.gray[i]! * 0.02;
  }

  private reduce(image: RgbImage): Small {
    const w = Math.min(image.width, this.opts.width ?? 160);
    const h = Math.max(1, Math.round((image.height * w) / image.width));
    const gray = new Float32Array(w * h);
    const r = new Float32Array(w * h);
    const g = new Float32Array(w * h);
    const b = new Float32Array(w * h);
    const fx = image.width / w;
    const fy = image.height / h;
    // Box-average each cell (every pixel counts, so a thin flame tip is not lost).
    for (let cy = 0; cy < h; cy++) {
      const y0 = Math.floor(cy * fy),
        y1 = Math.max(y0 + 1, Math.floor((cy + 1) * fy));
      for (let cx = 0; cx < w; cx++) {
        const x0 = Math.floor(cx * fx),
          x1 = Math.max(x0 + 1, Math.floor((cx + 1) * fx));
        let sr = 0,
          sg = 0,
          sb = 0,
          n = 0;
        for (let y = y0; y < y1; y += 2)
          for (let x = x0; x < x1; x += 2) {
            const p = (y * image.width + x) * 3;
            sr += image.data[p]!;
            sg += image.data[p + 1]!;
            sb += image.data[p + 2]!;
            n++;
          }
        const i = cy * w + cx;
        r[i] = sr / n;
        g[i] = sg / n;
        b[i] = sb / n;
        gray[i] = 0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!;
      }
    }
    let meanY = 0,
      meanCb = 0,
      meanCr = 0;
    const cb = new Float32Array(w * h);
    const cr = new Float32Array(w * h);
    for (let i = 0; i < w * h; i++) {
      cb[i] = 128 - 0.168736 * r[i]! - 0.331264 * g[i]! + 0.5 * b[i]!;
      cr[i] = 128 + 0.5 * r[i]! - 0.418688 * g[i]! - 0.081312 * b[i]!;
      meanY += gray[i]!;
      meanCb += cb[i]!;
      meanCr += cr[i]!;
    }
    meanY /= w * h;
    meanCb /= w * h;
    meanCr /= w * h;
    const fire = new Uint8Array(w * h);
    const smoke = new Uint8Array(w * h);
    // The light of the whole scene changes (a fluorescent tube flickering, a cloud, the camera's
    // exposure): compare with the background brought to this frame's brightness, so only a local
    // change (a plume) is new.
    let gain = 1;
    if (this.background) {
      let bg = 0;
      for (let i = 0; i < w * h; i++) bg += this.background[i]!;
      gain = bg > 0 ? (meanY * w * h) / bg : 1;
    }
    for (let i = 0; i < w * h; i++) {
      const R = r[i]!,
        G = g[i]!,
        B = b[i]!,
        Y = gray[i]!;
      fire[i] = Number(
        R > 150 && R >= G && G > B && Y > cb[i]! && cr[i]! > cb[i]! + 40 && Y >= meanY && cr[i]! >= meanCr && cb[i]! <= meanCb,
      );
      const spread = Math.max(R, G, B) - Math.min(R, G, B);
      const fresh = this.background ? Math.abs(Y - gain * this.background[i]!) > 18 : false;
      smoke[i] = Number(spread < 24 && Y > 90 && Y < 225 && fresh);
    }
    return { w, h, gray, fire, smoke };
  }
}

interface Region extends Box {
  cells: number;
  members: Int32Array;
}

/** 8-connected regions of a mask on the reduced grid. */
function regions(mask: Uint8Array, w: number, h: number): Region[] {
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const out: Region[] = [];
  for (let s = 0; s < w * h; s++) {
    if (!mask[s] || seen[s]) continue;
    let top = 0;
    const members: number[] = [];
    stack[top++] = s;
    seen[s] = 1;
    let minX = w,
      minY = h,
      maxX = 0,
      maxY = 0;
    while (top) {
      const p = stack[--top]!;
      members.push(p);
      const x = p % w,
        y = (p - x) / w;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx,
            ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const q = ny * w + nx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
    }
    out.push({ x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1, cells: members.length, members: Int32Array.from(members) });
  }
  return out;
}

export interface Flicker {
  /** Mean absolute change of intensity inside the region between frames, grey levels. */
  magnitude: number;
  /**
   * How much the change is one change of the whole region (1: every cell brighter or every cell
   * darker together, a lamp switching, the light of a sunset) rather than many: |Σ d| / Σ |d|.
   */
  coherence: number;
  /**
   * How unlike its neighbours' each cell's change is, relative to the change: a flame's flicker is
   * turbulent at every scale, a lamp's or a beacon's is smooth across the lamp (Töreyin et al.,
   * "Computer vision based method for real-time fire and flame detection", 2006, use the same
   * spatial variation in wavelet form).
   */
  roughness: number;
  /** 1 − IoU of the flame mask in the region's box with the last frame that was lit there: a moving boundary. */
  shapeChange: number;
}

/** Flame flicker is irregular: many independent changes, rough across the region, a moving edge. */
export function flameLike(f: Flicker): boolean {
  return f.coherence <= 0.8 && f.roughness >= 0.2 && f.shapeChange >= 0.05;
}

function flickerOf(now: Small, past: Small[], r: Region): Flicker {
  let total = 0;
  let n = 0;
  let coherence = 0;
  let pairs = 0;
  let rough = 0;
  let roughN = 0;
  const frames = [...past, now];
  const member = new Uint8Array(now.w * now.h);
  for (const i of r.members) member[i] = 1;
  for (let k = 1; k < frames.length; k++) {
    const a = frames[k - 1]!,
      b = frames[k]!;
    if (a.w !== b.w || a.h !== b.h) continue;
    let signed = 0;
    let abs = 0;
    for (const i of r.members) {
      const d = b.gray[i]! - a.gray[i]!;
      signed += d;
      abs += Math.abs(d);
      // The right and lower neighbours inside the region (no array per cell: this runs per frame).
      const right = i + 1;
      if (right % b.w !== 0 && member[right]) {
        rough += Math.abs(d - (b.gray[right]! - a.gray[right]!));
        roughN++;
      }
      const below = i + b.w;
      if (below < member.length && member[below]) {
        rough += Math.abs(d - (b.gray[below]! - a.gray[below]!));
        roughN++;
      }
    }
    total += abs;
    n += r.members.length;
    if (abs > 0) {
      coherence += Math.abs(signed) / abs;
      pairs++;
    }
  }
  const magnitude = n ? total / n : 0;
  const lit = [...past].reverse().find((p) => p.w === now.w && countIn(p.fire, p.w, r) >= r.cells * 0.5);
  let inter = 0;
  let union = 0;
  if (lit)
    for (let y = r.y; y < r.y + r.h; y++)
      for (let x = r.x; x < r.x + r.w; x++) {
        const i = y * now.w + x;
        inter += now.fire[i]! & lit.fire[i]!;
        union += now.fire[i]! | lit.fire[i]!;
      }
  return {
    magnitude,
    coherence: pairs ? coherence / pairs : 1,
    roughness: roughN && magnitude > 0 ? rough / roughN / magnitude : 0,
    shapeChange: lit && union ? 1 - inter / union : 1,
  };
}

function dilate(mask: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx,
            ny = y + dy;
          if (nx >= 0 && ny >= 0 && nx < w && ny < h) out[ny * w + nx] = 1;
        }
    }
  return out;
}

/** Share of cells whose grey level moved by more than 25 between two frames. */
function changedShare(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 1;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 25) n++;
  return n / a.length;
}

function countIn(mask: Uint8Array, w: number, r: Box): number {
  let n = 0;
  for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) n += mask[y * w + x]!;
  return n;
}

function scale(r: Box, sx: number, sy: number): Box {
  return { x: r.x * sx, y: r.y * sy, w: r.w * sx, h: r.h * sy };
}

/**
 * The object detector's second opinion on flames, for a camera that runs both: a small flame
 * region (under a twentieth of the vehicle's box) centred inside a vehicle's box is its tail,
 * brake or indicator light, not a fire. A burning car's flames are larger than that and stand.
 */
export function vetoVehicleLamps(found: Detection[]): { kept: Detection[]; vetoed: number } {
  // Bicycles carry no lights worth the name.
  const vehicles = found.filter((d) => MOTOR_VEHICLE_LABELS.has(d.label));
  if (!vehicles.length) return { kept: found, vetoed: 0 };
  const kept = found.filter((d) => {
    if (d.label !== 'fire') return true;
    const cx = d.box.x + d.box.w / 2;
    const cy = d.box.y + d.box.h / 2;
    return !vehicles.some(
      (v) =>
        cx >= v.box.x &&
        cx <= v.box.x + v.box.w &&
        cy >= v.box.y &&
        cy <= v.box.y + v.box.h &&
        d.box.w * d.box.h < (v.box.w * v.box.h) / 20,
    );
  });
  return { kept, vetoed: found.length - kept.length };
}
