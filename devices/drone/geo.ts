/** Geofences: polygons of [lat, lon] vertices, tested by ray casting (fine at the scale of a community). */
export type Polygon = Array<[number, number]>;

export function inside(lat: number, lon: number, polygon: Polygon): boolean {
  let hit = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [yi, xi] = polygon[i]!;
    const [yj, xj] = polygon[j]!;
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

export interface Fence {
  id: string;
  name?: string;
  type: 'allowed' | 'no_fly';
  polygon: Polygon;
}

/** The fence a position breaks, if any: inside a no-fly zone, or outside every allowed area. */
export function breach(lat: number, lon: number, fences: Fence[]): { fence: string; reason: 'no_fly' | 'outside_allowed' } | undefined {
  const noFly = fences.find((f) => f.type === 'no_fly' && inside(lat, lon, f.polygon));
  if (noFly) return { fence: noFly.name ?? noFly.id, reason: 'no_fly' };
  const allowed = fences.filter((f) => f.type === 'allowed');
  if (allowed.length && !allowed.some((f) => inside(lat, lon, f.polygon))) {
    return { fence: allowed.map((f) => f.name ?? f.id).join(', '), reason: 'outside_allowed' };
  }
  return undefined;
}
