/**
 * Zones drawn on a camera's picture (polygons in 0..1 of width and height): exclude zones hide
 * what is in them (a road outside the wall, a TV in the guard room); include zones, when a label
 * has any, are the only places it counts; restricted zones raise an incident when a person is
 * there in the hours given; loitering zones one when a person stays `seconds`; no-parking zones
 * (a fire lane) one when a vehicle stands still there `seconds` (behaviours.ts).
 */
import { type Static, Type } from '@sinclair/typebox';
import { LocalHours, StringEnum } from '../../core/schema.js';
import { VEHICLE_LABELS } from '../object/labels.js';
import type { Box, Detection } from '../types.js';

/** A point on the picture, `[x, y]` as shares of its width and height (0..1): zones' corners, lines' ends. */
export const PicturePoint = (description = '[x, y] as shares of the picture width and height, 0..1') =>
  Type.Tuple([Type.Number({ minimum: 0, maximum: 1 }), Type.Number({ minimum: 0, maximum: 1 })], { description });

/** A zone's or line's name: it goes in incident keys and series tags. */
export const PlaceName = (what: string) =>
  Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', description: `${what} name: letters, digits, _ . -` });

export const ZoneSchema = Type.Object(
  {
    name: PlaceName('zone'),
    polygon: Type.Array(PicturePoint(), { minItems: 3, maxItems: 64, description: 'three or more [x, y] corners' }),
    mode: StringEnum(['include', 'exclude', 'restricted', 'loitering', 'no_parking'] as const, {
      description:
        'include: only count objects here; exclude: ignore objects here; restricted: a person here (in hours) raises ' +
        'person.restricted_zone; loitering: a person staying `seconds` raises person.loitering; no_parking: a vehicle ' +
        'standing `seconds` raises vehicle.no_parking',
    }),
    seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86_400,
        description: 'loitering (default 60) and no_parking (default 300): seconds of dwell before the incident',
      }),
    ),
    labels: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'labels the zone applies to (default: all)' }),
    ),
    hours: Type.Optional(
      LocalHours('restricted, loitering, no_parking: HH:MM-HH:MM local time, may wrap past midnight; always when absent'),
    ),
  },
  { additionalProperties: false },
);
export type Zone = Static<typeof ZoneSchema>;

/** Where an object is: people stand and vehicles roll on the ground (bottom centre); the rest by their centre. */
export function anchor(d: { label: string; box: Box }): [number, number] {
  const grounded = d.label === 'person' || VEHICLE_LABELS.has(d.label);
  return [d.box.x + d.box.w / 2, grounded ? d.box.y + d.box.h : d.box.y + d.box.h / 2];
}

export function inside(point: [number, number], polygon: Array<[number, number]>): boolean {
  // Ray casting: count the edges a ray to the right crosses.
  let hit = false;
  const [x, y] = point;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const applies = (z: Zone, label: string) => !z.labels || z.labels.includes(label);

export function zonesAt(zones: Zone[], d: { label: string; box: Box }, width: number, height: number): Zone[] {
  const [x, y] = anchor(d);
  return zones.filter((z) => applies(z, d.label) && inside([x / width, y / height], z.polygon));
}

/** Whether a detection counts, given the camera's include and exclude zones. */
export function admitted(zones: Zone[], d: Detection, width: number, height: number): boolean {
  const here = zonesAt(zones, d, width, height);
  if (here.some((z) => z.mode === 'exclude')) return false;
  const includes = zones.filter((z) => z.mode === 'include' && applies(z, d.label));
  return !includes.length || here.some((z) => z.mode === 'include');
}
