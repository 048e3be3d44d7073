/** Behaviours on tracks made by the real tracker from boxes placed frame by frame (the gateway test runs them on a camera). */
import { describe, expect, it } from 'vitest';
import type { Detection, RgbImage } from '../types.js';
import { type BehaviourEvent, Behaviours, type Line, placeProblems, segmentsCross } from './behaviours.js';
import { Tracker } from './tracker.js';
import type { Zone } from './zones.js';

const W = 640,
  H = 360;
const blank: RgbImage = { width: W, height: H, data: new Uint8Array(W * H * 3) };
/** A box whose bottom centre (where it stands) is at (x, y) in pixels. */
const at = (label: string, x: number, y: number, w = 40, h = 100): Detection => ({
  label,
  score: 0.9,
  box: { x: x - w / 2, y: y - h, w, h },
});

/** Runs frames through a tracker and the behaviours; `frames[i]` is what frame i at `i * stepMs` shows. */
function run(b: Behaviours, frames: Detection[][], stepMs = 500, start = 0): BehaviourEvent[] {
  const tr = new Tracker('cam', { maxMissed: 2 });
  const out: BehaviourEvent[] = [];
  frames.forEach((dets, i) => {
    const t = start + i * stepMs;
    out.push(...b.update(tr.update(dets, blank, t), W, H, t));
  });
  out.push(...b.update(tr.flush(), W, H, start + frames.length * stepMs));
  return out;
}

// A gate: a horizontal line across the middle; the community is below it.
const gate: Line = { name: 'gate', from: [0.2, 0.5], to: [0.8, 0.5], inside: [0.5, 0.9] };

describe('line crossing', () => {
  it('counts people and vehicles by direction', () => {
    const walkIn = Array.from({ length: 8 }, (_, i) => [at('person', 300, 120 + i * 25)]); // y 120 → 295 px, the line at 180
    const driveOut = Array.from({ length: 6 }, (_, i) => [at('car', 250, 330 - i * 40, 120, 70)]);
    const b = new Behaviours([gate], []);
    const events = [...run(b, walkIn), ...run(b, driveOut, 500, 10_000)];
    expect(events.map((e) => e.type === 'crossed' && [e.class, e.direction])).toEqual([
      ['person', 'in'],
      ['vehicle', 'out'],
    ]);
  });

  it('does not count a person standing on the line and swaying, nor one walking round its end', () => {
    const sway = Array.from({ length: 20 }, (_, i) => [at('person', 300, 180 + (i % 2 ? 4 : -4))]);
    // Past the right end of the line (x > 0.8 × 640 = 512), from above to below.
    const round = Array.from({ length: 8 }, (_, i) => [at('person', 580, 120 + i * 25)]);
    const b = new Behaviours([gate], []);
    expect([...run(b, sway), ...run(b, round, 500, 20_000)]).toEqual([]);
  });

  it('counts only the labels a line names', () => {
    const bikes: Line = { ...gate, labels: ['bicycle'] };
    const walkIn = Array.from({ length: 8 }, (_, i) => [at('person', 300, 120 + i * 25), at('bicycle', 420, 120 + i * 25, 60, 60)]);
    const events = run(new Behaviours([bikes], []), walkIn);
    expect(events.map((e) => e.track.label)).toEqual(['bicycle']);
  });

  it('tells segment crossings from near misses', () => {
    expect(segmentsCross([0, 0], [1, 1], [0, 1], [1, 0])).toBe(true);
    expect(segmentsCross([0, 0], [0.4, 0.4], [0, 1], [1, 0])).toBe(false);
  });
});

const dwellOf = (e: BehaviourEvent | undefined) => {
  if (!e || e.type === 'crossed') throw new Error(`not a dwell event: ${e?.type}`);
  return e;
};

const square = (name: string, mode: Zone['mode'], seconds?: number): Zone => ({
  name,
  mode,
  polygon: [
    [0.25, 0.25],
    [0.75, 0.25],
    [0.75, 0.95],
    [0.25, 0.95],
  ],
  ...(seconds ? { seconds } : {}),
});

describe('dwell', () => {
  it('raises loitering once for a person staying past the zone seconds, never for one passing through', () => {
    const b = new Behaviours([], [square('lobby', 'loitering', 30)]);
    // 40 s at 1 fps, ambling about inside the zone.
    const stays = Array.from({ length: 40 }, (_, i) => [at('person', 300 + 20 * Math.sin(i / 3), 250 + 10 * Math.cos(i / 5))]);
    const events = run(b, stays, 1000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'loitering', seconds: 30, since: 0 });
    expect(events[0]!.at).toBe(30_000);
    const passing = Array.from({ length: 20 }, (_, i) => [at('person', 100 + i * 25, 250)]); // 20 s across, ~13 s inside
    expect(run(new Behaviours([], [square('lobby', 'loitering', 30)]), passing, 1000)).toEqual([]);
  });

  it('raises no_parking for a car standing still past the seconds, not for one crawling through or a person', () => {
    const lane = () => new Behaviours([], [square('fire-lane', 'no_parking', 120)]);
    // Drives in for 5 s, then stands for 3 minutes (at 1 fps, a few pixels of box jitter).
    const parks = [
      ...Array.from({ length: 5 }, (_, i) => [at('car', 100 + i * 45, 300, 120, 70)]),
      ...Array.from({ length: 180 }, (_, i) => [at('car', 300 + (i % 3), 300 + (i % 2), 120, 70)]),
    ];
    const events = run(lane(), parks, 1000);
    expect(events.map((e) => e.type)).toEqual(['parked']);
    // Stopped from 4 s on (x 280, then within half its width of there): raised at 124 s.
    expect(dwellOf(events[0]).since).toBe(4000);
    expect(events[0]!.at).toBe(124_000);
    const crawl = Array.from({ length: 200 }, (_, i) => [at('car', 170 + i * 1.5, 300, 120, 70)]); // 1.5 px/s for 200 s
    expect(run(lane(), crawl, 1000)).toEqual([]);
    const guard = Array.from({ length: 200 }, () => [at('person', 300, 300)]);
    expect(run(lane(), guard, 1000)).toEqual([]);
  });

  it('keeps a parked car’s time when a passing bus hides it and its track starts again', () => {
    const b = new Behaviours([], [square('fire-lane', 'no_parking', 60)]);
    const car = () => [at('car', 300, 300, 120, 70)];
    const tr = new Tracker('cam', { maxMissed: 2 });
    const events: BehaviourEvent[] = [];
    for (let s = 0; s <= 70; s++) {
      const hidden = s >= 30 && s < 40; // ten seconds behind the bus: the first track ends
      events.push(...b.update(tr.update(hidden ? [] : car(), blank, s * 1000), W, H, s * 1000));
    }
    expect(events.map((e) => e.type)).toEqual(['parked']);
    expect(dwellOf(events[0]).since).toBe(0);
    expect(events[0]!.at).toBe(60_000);
    expect(events[0]!.track.firstAt).toBe(40_000); // the second track carried the first one's time
  });
});

describe('zone and line checks', () => {
  it('names each mistake', () => {
    const z = square('a', 'include');
    expect(
      placeProblems(
        [
          { ...z, seconds: 5 },
          { ...square('b', 'loitering'), hours: '22:00-06:00' },
          { ...z, mode: 'exclude', hours: '22:00-06:00' },
        ],
        [
          { ...gate, from: [0.5, 0.5], to: [0.505, 0.5] },
          { ...gate, name: 'wall', inside: [0.5, 0.505] },
          { ...gate, name: 'wall', hours: '22:00-06:00' },
        ],
        'cameras[0].detect',
      ),
    ).toEqual([
      'cameras[0].detect.zones[0].seconds: only loitering and no_parking zones have seconds',
      'cameras[0].detect.zones[2].name: "a" is used twice',
      'cameras[0].detect.zones[2].hours: only restricted, loitering and no_parking zones have hours',
      'cameras[0].detect.lines[0]: from and to are the same place (draw the line at least 0.02 of the picture long)',
      'cameras[0].detect.lines[1].inside: the point is on the line; put it clearly on the inside (the community side)',
      'cameras[0].detect.lines[2].name: "wall" is used twice',
      'cameras[0].detect.lines[2].hours: only a line with alarm has hours (counts run all day)',
    ]);
  });
});
