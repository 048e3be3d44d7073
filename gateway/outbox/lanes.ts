/**
 * Priority lanes: when a backlog drains, life-safety incidents go first. A category's lane is
 * found by its longest matching dotted prefix; lane 0 drains first.
 */
export type LaneTable = Record<string, number>;

export const DEFAULT_LANES: LaneTable = {
  fire: 0,
  gas: 0,
  lpg: 1,
  drone: 1,
  person: 2,
  vehicle: 2,
  device: 3,
};

/** Categories that match no prefix go in the last lane. */
export function laneOf(category: string, table: LaneTable = DEFAULT_LANES): number {
  const parts = category.split('.');
  for (let n = parts.length; n > 0; n--) {
    const lane = table[parts.slice(0, n).join('.')];
    if (lane !== undefined) return lane;
  }
  return Math.max(0, ...Object.values(table));
}
