/**
 * Behaviours read off one camera's tracks: a person or vehicle crossing a line (with its
 * direction, for in/out counts at a gate and for a wall climbed at night), a person loitering in
 * a zone, a vehicle standing in a no-parking zone (a fire lane). Pure: track events and time in,
 * behaviour events out; the gateway decides hours, incidents and series.
 *
 * Coordinates are shares of the picture (0..1), like zones; an object is where it touches the
 * ground (zones.anchor), so a person's head passing over a line drawn on the road is no crossing.
 */
import { type Static, Type } from '@sinclair/typebox';
import { LocalHours, StringEnum } from '../../core/schema.js';
import { MOTOR_VEHICLE_LABELS, VEHICLE_LABELS } from '../object/labels.js';
import type { Track, TrackEvent } from './tracker.js';
import { anchor, inside, PicturePoint, PlaceName, type Zone } from './zones.js';

type Point = [number, number];

export const LineSchema = Type.Object(
  {
    name: PlaceName('line'),
    from: PicturePoint(),
    to: PicturePoint(),
    inside: PicturePoint('a point on the inside of the line (the community side): crossing towards it is "in"'),
    labels: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'labels counted (default person, bicycle, car, motorcycle, bus, truck)',
      }),
    ),
    alarm: Type.Optional(
      StringEnum(['in', 'out', 'both'] as const, {
        description: 'a person crossing this way raises person.line_crossing (default: count only, no incident)',
      }),
    ),
    hours: Type.Optional(LocalHours('alarm only in HH:MM-HH:MM local time, may wrap past midnight; always when absent')),
  },
  { additionalProperties: false },
);
export type Line = Static<typeof LineSchema>;

const PEOPLE: ReadonlySet<string> = new Set(['person']);

export type BehaviourEvent =
  /** `class`: person or vehicle, or the label itself for other labels a line names. */
  | { type: 'crossed'; at: number; line: Line; track: Track; direction: 'in' | 'out'; class: string }
  | { type: 'loitering' | 'parked'; at: number; zone: Zone; track: Track; since: number; seconds: number };

export interface BehaviourOptions {
  /**
   * Distance from a line (share of the picture's diagonal) within which an object is on neither
   * side: a person standing on the line, swaying, is no crossing back and forth.
   */
  margin?: number;
  /**
   * Ms a stay outlives its track: a parked car hidden behind a passing bus for a few frames gets a
   * new track, and its time in the zone goes on where it was rather than starting again.
   */
  carryMs?: number;
}

/** Default dwell before an incident, by zone mode. */
export const DEFAULT_SECONDS = { loitering: 60, no_parking: 300 } as const;

interface Stay {
  since: number;
  /** Where a vehicle stands (no_parking: moving more than its half width starts the stay again). */
  at: Point;
  raised: boolean;
}

interface TrackState {
  /** Per line: the side last seen clearly (+1 / -1) and where. */
  sides: Map<string, { side: number; at: Point }>;
  stays: Map<string, Stay>;
}

const classOf = (label: string): 'person' | 'vehicle' | undefined =>
  PEOPLE.has(label) ? 'person' : VEHICLE_LABELS.has(label) ? 'vehicle' : undefined;

export class Behaviours {
  private readonly state = new Map<string, TrackState>();
  /** Stays of ended tracks, for `carryMs`. */
  private carried: Array<{ zone: string; label: string; stay: Stay; endedAt: number }> = [];
  private readonly margin: number;
  private readonly carryMs: number;

  constructor(
    private readonly lines: readonly Line[],
    private readonly zones: readonly Zone[],
    opts: BehaviourOptions = {},
  ) {
    this.margin = opts.margin ?? 0.02;
    this.carryMs = opts.carryMs ?? 60_000;
  }

  /** Whether this camera has anything to watch: without lines or dwell zones the stage costs nothing. */
  get watching(): boolean {
    return this.lines.length > 0 || this.zones.some((z) => z.mode === 'loitering' || z.mode === 'no_parking');
  }

  update(events: readonly TrackEvent[], width: number, height: number, at: number): BehaviourEvent[] {
    if (!this.watching) return [];
    const out: BehaviourEvent[] = [];
    this.carried = this.carried.filter((c) => at - c.endedAt <= this.carryMs);
    for (const e of events) {
      const t = e.track;
      if (e.type === 'end') {
        const s = this.state.get(t.id);
        if (s) for (const [zone, stay] of s.stays) this.carried.push({ zone, label: t.label, stay, endedAt: t.lastAt });
        this.state.delete(t.id);
        continue;
      }
      if (t.lastAt !== at) continue; // not seen in this frame (a flushed or coasting track)
      let s = this.state.get(t.id);
      if (!s) {
        s = { sides: new Map(), stays: new Map() };
        this.state.set(t.id, s);
      }
      const [ax, ay] = anchor(t);
      const p: Point = [ax / width, ay / height];
      this.cross(t, s, p, at, out, width, height);
      // A track is announced on its second frame: its stay began when it was first seen.
      this.dwell(t, s, p, e.type === 'new' ? t.firstAt : at, at, out, width);
    }
    return out;
  }

  private cross(t: Track, s: TrackState, p: Point, at: number, out: BehaviourEvent[], width: number, height: number): void {
    const cls = classOf(t.label);
    for (const line of this.lines) {
      if (line.labels ? !line.labels.includes(t.label) : !cls) continue;
      // Distances in pixels, so the margin means the same across a wide picture and a tall one.
      const px = (q: Point): Point => [q[0] * width, q[1] * height];
      const d = signedDistance(px(p), px(line.from), px(line.to)) / Math.hypot(width, height);
      if (Math.abs(d) < this.margin) continue;
      const side = Math.sign(d);
      const last = s.sides.get(line.name);
      s.sides.set(line.name, { side, at: p });
      if (!last || last.side === side) continue;
      // Across the segment itself, not the line drawn on past its ends (walking round a barrier's end).
      if (!segmentsCross(last.at, p, line.from, line.to)) continue;
      const insideSide = Math.sign(signedDistance(px(line.inside), px(line.from), px(line.to)));
      out.push({ type: 'crossed', at, line, track: t, direction: side === insideSide ? 'in' : 'out', class: cls ?? t.label });
    }
  }

  private dwell(t: Track, s: TrackState, p: Point, from: number, at: number, out: BehaviourEvent[], width: number): void {
    for (const zone of this.zones) {
      if (zone.mode !== 'loitering' && zone.mode !== 'no_parking') continue;
      const applies = zone.labels
        ? zone.labels.includes(t.label)
        : (zone.mode === 'loitering' ? PEOPLE : MOTOR_VEHICLE_LABELS).has(t.label);
      if (!applies) continue;
      if (!inside(p, zone.polygon)) {
        s.stays.delete(zone.name);
        continue;
      }
      const tolerance = Math.max(0.02, (0.5 * t.box.w) / width);
      let stay = s.stays.get(zone.name);
      if (!stay) {
        stay = this.takeCarried(zone, t.label, p, tolerance) ?? { since: from, at: p, raised: false };
        s.stays.set(zone.name, stay);
      } else if (zone.mode === 'no_parking' && Math.hypot(p[0] - stay.at[0], p[1] - stay.at[1]) > tolerance) {
        // Still moving (looking for a space, passing through slowly): its stay starts where it is now.
        stay.since = at;
        stay.at = p;
        stay.raised = false;
      }
      const seconds = zone.seconds ?? DEFAULT_SECONDS[zone.mode];
      if (!stay.raised && at - stay.since >= seconds * 1000) {
        stay.raised = true;
        out.push({ type: zone.mode === 'loitering' ? 'loitering' : 'parked', at, zone, track: t, since: stay.since, seconds });
      }
    }
  }

  /** A stay its object's previous track left: anywhere in the zone for people, the same place for vehicles. */
  private takeCarried(zone: Zone, label: string, p: Point, tolerance: number): Stay | undefined {
    const i = this.carried.findIndex(
      (c) =>
        c.zone === zone.name &&
        c.label === label &&
        (zone.mode === 'loitering' || Math.hypot(p[0] - c.stay.at[0], p[1] - c.stay.at[1]) <= tolerance),
    );
    if (i < 0) return undefined;
    const [c] = this.carried.splice(i, 1);
    return { ...c!.stay };
  }
}

/** Mistakes in a camera's zones and lines a schema cannot see; `at` is the key path of its `detect` section. */
export function placeProblems(zones: readonly Zone[], lines: readonly Line[], at: string): string[] {
  const problems: string[] = [];
  const zoneNames = new Set<string>();
  zones.forEach((z, k) => {
    if (zoneNames.has(z.name)) problems.push(`${at}.zones[${k}].name: "${z.name}" is used twice`);
    zoneNames.add(z.name);
    const dwell = z.mode === 'loitering' || z.mode === 'no_parking';
    if (z.hours && z.mode !== 'restricted' && !dwell)
      problems.push(`${at}.zones[${k}].hours: only restricted, loitering and no_parking zones have hours`);
    if (z.seconds !== undefined && !dwell) problems.push(`${at}.zones[${k}].seconds: only loitering and no_parking zones have seconds`);
  });
  const lineNames = new Set<string>();
  lines.forEach((l, k) => {
    if (lineNames.has(l.name)) problems.push(`${at}.lines[${k}].name: "${l.name}" is used twice`);
    lineNames.add(l.name);
    if (Math.hypot(l.to[0] - l.from[0], l.to[1] - l.from[1]) < 0.02)
      problems.push(`${at}.lines[${k}]: from and to are the same place (draw the line at least 0.02 of the picture long)`);
    else if (Math.abs(signedDistance(l.inside, l.from, l.to)) < 0.02)
      problems.push(`${at}.lines[${k}].inside: the point is on the line; put it clearly on the inside (the community side)`);
    if (l.hours && !l.alarm) problems.push(`${at}.lines[${k}].hours: only a line with alarm has hours (counts run all day)`);
  });
  return problems;
}

/** Signed distance of p from the line through a and b (positive on the left of a→b as drawn, y down). */
function signedDistance(p: Point, a: Point, b: Point): number {
  const len = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
  return ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])) / len;
}

/** Whether segment p1→p2 crosses segment q1→q2 (touching counts). */
export function segmentsCross(p1: Point, p2: Point, q1: Point, q2: Point): boolean {
  const o = (a: Point, b: Point, c: Point) => Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
  return o(p1, p2, q1) !== o(p1, p2, q2) && o(q1, q2, p1) !== o(q1, q2, p2);
}
