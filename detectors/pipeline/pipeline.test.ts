/** Zones, the tracker and the worker pool on their own (the gateway test runs them on a camera stream). */
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../image.js';
import type { Detection, RgbImage } from '../types.js';
import { DetectorPool } from './pool.js';
import { quality, sharpness, Tracker } from './tracker.js';
import { admitted, anchor, inside, zonesAt, type Zone } from './zones.js';

const W = 640,
  H = 360;
const blank: RgbImage = { width: W, height: H, data: new Uint8Array(W * H * 3) };
const det = (label: string, x: number, y: number, w = 60, h = 120, extra: Partial<Detection> = {}): Detection => ({
  label,
  score: 0.9,
  box: { x, y, w, h },
  ...extra,
});

function noisy(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i += 3) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = data[i + 1] = data[i + 2] = s & 0xff;
  }
  return { width, height, data };
}

describe('zones', () => {
  const left: Zone = {
    name: 'left',
    mode: 'exclude',
    polygon: [
      [0, 0],
      [0.5, 0],
      [0.5, 1],
      [0, 1],
    ],
  };
  const gate: Zone = {
    name: 'gate',
    mode: 'include',
    labels: ['car'],
    polygon: [
      [0.6, 0.5],
      [1, 0.5],
      [1, 1],
      [0.6, 1],
    ],
  };

  it('places people and vehicles by where they touch the ground, other things by their centre', () => {
    expect(anchor(det('person', 100, 100, 50, 100))).toEqual([125, 200]);
    expect(anchor(det('face', 100, 100, 50, 100))).toEqual([125, 150]);
    expect(inside([0.2, 0.2], left.polygon)).toBe(true);
    expect(inside([0.7, 0.2], left.polygon)).toBe(false);
  });

  it('drops what is in an exclude zone, and keeps a label with include zones to them', () => {
    expect(admitted([left, gate], det('person', 50, 50), W, H)).toBe(false);
    expect(admitted([left, gate], det('person', 400, 50), W, H)).toBe(true); // no include zone for people
    expect(admitted([left, gate], det('car', 400, 50, 100, 60), W, H)).toBe(false); // cars count only at the gate
    expect(admitted([left, gate], det('car', 450, 250, 100, 60), W, H)).toBe(true);
    expect(zonesAt([left, gate], det('car', 450, 250, 100, 60), W, H).map((z) => z.name)).toEqual(['gate']);
  });
});

describe('tracker', () => {
  it('makes one track of one object moving across frames, announces it on its second frame and ends it after misses', () => {
    const tr = new Tracker('cam', { maxMissed: 2, minHits: 2 });
    const types: string[] = [];
    for (let i = 0; i < 5; i++) types.push(...tr.update([det('person', 100 + i * 10, 100)], blank, 1000 + i * 500).map((e) => e.type));
    expect(types).toEqual(['new', 'update', 'update', 'update']);
    const ended = [tr.update([], blank, 4000), tr.update([], blank, 4500), tr.update([], blank, 5000)].flat();
    expect(ended.map((e) => e.type)).toEqual(['end']);
    expect(ended[0]!.track.hits).toBe(5);
    expect(ended[0]!.track.firstAt).toBe(1000);
  });

  it('never announces a one-frame fluke, and keeps two objects apart', () => {
    const tr = new Tracker('cam', { maxMissed: 0 });
    expect(tr.update([det('car', 10, 10)], blank, 0)).toEqual([]);
    expect(tr.update([], blank, 500)).toEqual([]); // ended unannounced: no event at all
    const events = [
      tr.update([det('person', 10, 10), det('person', 400, 10)], blank, 1000),
      tr.update([det('person', 12, 10), det('person', 402, 10)], blank, 1500),
    ].flat();
    expect(events.filter((e) => e.type === 'new').map((e) => e.track.id)).toHaveLength(2);
  });

  it('follows a plate by its reading even when it jumps between frames, and keeps the reading seen most', () => {
    const tr = new Tracker('cam');
    tr.update([det('plate', 10, 300, 80, 24, { text: '京A12345', color: 'blue' })], blank, 0);
    tr.update([det('plate', 300, 200, 80, 24, { text: '京A12345', color: 'blue' })], blank, 500);
    // A misread where the motion says the plate is now: the same track, the majority reading stays.
    tr.update([det('plate', 590, 100, 80, 24, { text: '京A12346' })], blank, 1000);
    // A plate going the other way, far from that prediction, with another reading: a second track.
    tr.update([det('plate', 20, 330, 80, 24, { text: '沪B88888' })], blank, 1200);
    expect(tr.active).toHaveLength(2);
    const t = tr.active.find((x) => x.hits === 3)!;
    expect(t.text).toBe('京A12345');
    expect(t.color).toBe('blue');
  });

  it('keeps a car crossing a 640-wide frame in 2 s at 2 fps as one track (it moves more than its width per frame)', () => {
    const tr = new Tracker('cam', { maxMissed: 2 });
    const events = [];
    // 130 px a frame, 120 px wide: no two consecutive boxes overlap, so IoU alone would make five tracks.
    for (let i = 0; i < 5; i++) events.push(...tr.update([det('car', i * 130, 200, 120, 80)], blank, i * 500));
    for (let i = 5; i < 9; i++) events.push(...tr.update([], blank, i * 500));
    expect(events.filter((e) => e.type === 'new')).toHaveLength(1);
    const ends = events.filter((e) => e.type === 'end');
    expect(ends).toHaveLength(1);
    expect(ends[0]!.track.hits).toBe(5);
    expect(ends[0]!.track.velocity.x).toBeGreaterThan(200); // 260 px/s
    expect(Math.abs(ends[0]!.track.velocity.y)).toBeLessThan(20);
  });

  it('keeps one track through uneven frame gaps and a missed frame', () => {
    const tr = new Tracker('cam', { maxMissed: 2 });
    const at = [0, 300, 1000, 1250, 2000]; // 400 px/s; the frame at 1500 ms was lost
    const events = at.flatMap((t) => tr.update([det('car', (t / 1000) * 400, 100, 100, 70)], blank, t));
    expect(events.filter((e) => e.type === 'new')).toHaveLength(1);
    expect(tr.active).toHaveLength(1);
    expect(tr.active[0]!.hits).toBe(5);
  });

  it('keeps two people walking side by side apart, and two cars passing each other', () => {
    const tr = new Tracker('cam', { maxMissed: 1 });
    for (let i = 0; i < 6; i++) {
      tr.update(
        [
          det('person', 100 + i * 40, 100),
          det('person', 170 + i * 40, 104),
          det('car', 20 + i * 100, 250, 100, 60),
          det('car', 520 - i * 100, 258, 100, 60),
        ],
        blank,
        i * 500,
      );
    }
    const people = tr.active.filter((t) => t.label === 'person');
    const cars = tr.active.filter((t) => t.label === 'car');
    expect(people).toHaveLength(2);
    expect(people.every((t) => t.hits === 6)).toBe(true);
    expect(cars).toHaveLength(2);
    expect(cars.every((t) => t.hits === 6)).toBe(true);
    expect(cars.map((t) => Math.sign(t.velocity.x)).sort()).toEqual([-1, 1]);
  });

  it('lets a low-score box continue a track but never start one (ByteTrack second stage)', () => {
    const tr = new Tracker('cam', { maxMissed: 0, highScore: { car: 0.5 } });
    const weak = (x: number) => det('car', x, 200, 120, 80, { score: 0.3 });
    tr.update([det('car', 0, 200, 120, 80)], blank, 0);
    tr.update([det('car', 60, 200, 120, 80)], blank, 500);
    // Half hidden behind a post: the detector is unsure, the track goes on.
    tr.update([weak(120)], blank, 1000);
    expect(tr.active).toHaveLength(1);
    expect(tr.active[0]!.hits).toBe(3);
    // Alone, weak boxes start nothing.
    const other = new Tracker('cam', { highScore: { car: 0.5 } });
    expect([0, 500, 1000].flatMap((t) => other.update([weak(t / 10)], blank, t))).toEqual([]);
    expect(other.active).toHaveLength(0);
  });

  it('finds a face again where it was lost within reacquireMs: one track, not two', () => {
    // Seen for 1 s, turned away for 3 s, seen again where it was.
    const run = (tr: Tracker) =>
      [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000].flatMap((t) =>
        tr.update(t <= 1000 || t >= 4500 ? [det('face', 300, 100, 60, 60)] : [], blank, t),
      );
    const tr = new Tracker('cam', { maxMissed: 1, reacquireMs: { face: 5000 } });
    const events = run(tr);
    expect(events.filter((e) => e.type === 'new')).toHaveLength(1);
    expect(events.some((e) => e.type === 'end')).toBe(false);
    expect(tr.active[0]!.reacquired).toBe(1);
    // Gone longer than the window: the track ends.
    const later = [];
    for (let t = 5500; t <= 11000; t += 500) later.push(...tr.update([], blank, t));
    expect(later.map((e) => e.type)).toEqual(['end']);
    // And without the window, the same gap makes two tracks.
    const all = run(new Tracker('cam', { maxMissed: 1 }));
    expect(all.filter((e) => e.type === 'new')).toHaveLength(2);
  });

  it('keeps the best shot: larger, sharper, more frontal', async () => {
    const sharp = noisy(W, H);
    const flat = blank;
    expect(sharpness(sharp, { x: 0, y: 0, w: 100, h: 100 })).toBeGreaterThan(sharpness(flat, { x: 0, y: 0, w: 100, h: 100 }) + 100);
    const frontal = det('face', 100, 100, 80, 80, {
      landmarks: [
        [120, 130],
        [160, 130],
        [140, 150],
      ],
    });
    const profile = det('face', 100, 100, 80, 80, {
      landmarks: [
        [120, 130],
        [160, 130],
        [158, 150],
      ],
    });
    expect(quality(frontal, sharp)).toBeGreaterThan(quality(profile, sharp));
    const tr = new Tracker('cam');
    tr.update([det('person', 100, 100, 60, 120)], flat, 0);
    tr.update([det('person', 102, 100, 60, 120)], sharp, 500);
    tr.update([det('person', 104, 100, 60, 120)], flat, 1000);
    const t = tr.active[0]!;
    expect(t.best.at).toBe(500);
    expect(t.best.image.width).toBe(Math.ceil(60 * 1.4));
  });
});

describe('detector pool (worker threads)', () => {
  it('runs the detectors off the main thread and reports per-detector times', async () => {
    const pool = new DetectorPool({ workers: 1 });
    pool.start();
    try {
      const image = await decodeImage('/usr/share/darknet/data/person.jpg');
      const r = await pool.detect('cam', image, { object: {} });
      expect(r.detections.map((d) => d.label)).toContain('person');
      expect(r.ms.object).toBeGreaterThan(0);
      expect(image.data.length).toBe(image.width * image.height * 3); // the caller's frame is copied, not taken
      const stats = pool.stats();
      expect(stats).toMatchObject({ workers: 1, busy: 0, queued: 0, jobs: 1, failures: 0 });
    } finally {
      await pool.stop();
    }
    await expect(pool.detect('cam', blank, { fire: {} })).rejects.toThrow(/not running/);
  }, 60_000);

  it('stops without killing a model mid-run: the frame in hand finishes, queued ones fail', async () => {
    const pool = new DetectorPool({ workers: 1 });
    pool.start();
    const image = await decodeImage('/usr/share/darknet/data/kite.jpg');
    await pool.detect('warm', image, { object: {} });
    const inHand = pool.detect('a', image, { object: {}, face: {} });
    const queued = pool.detect('b', image, { object: {} }).catch((err: Error) => err);
    await new Promise((r) => setTimeout(r, 20));
    await pool.stop();
    expect((await inHand).detections.length).toBeGreaterThan(0);
    expect(String(await queued)).toMatch(/stopped/);
  }, 60_000);

  it('queues frames of several cameras for the free worker, and reports a detector error as that frame failing', async () => {
    const pool = new DetectorPool({ workers: 1 });
    pool.start();
    try {
      const results = await Promise.allSettled([
        pool.detect('a', blank, { fire: {} }),
        pool.detect('b', blank, { fire: {} }),
        pool.detect('c', blank, { object: { labels: ['tank'] } }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/unknown object label "tank"/);
      expect(pool.stats()).toMatchObject({ jobs: 3, failures: 1, queued: 0 });
    } finally {
      await pool.stop();
    }
  }, 60_000);
});
