/**
 * Priority lanes: when a backlog drains, life-safety incidents go first (lane 0 drains first).
 * Each category declares its lane; a deployment may move categories with `outbox.lanes`, by
 * their longest matching dotted prefix (`fire`, `lpg.overfill`), which wins over the declaration.
 */
import { CATEGORIES, type CategoryTable } from '../incidents/categories.js';

export type LaneTable = Record<string, number>;

/** The lowest-priority lane: where a category nobody declared goes. */
export const LAST_LANE = 9;

/** The lane of one category: the deployment's prefix table first, then the category's own declaration. */
export function laneOf(category: string, overrides: LaneTable = {}, categories: CategoryTable = CATEGORIES): number {
  const parts = category.split('.');
  for (let n = parts.length; n > 0; n--) {
    const lane = overrides[parts.slice(0, n).join('.')];
    if (lane !== undefined) return lane;
  }
  return categories[category]?.lane ?? LAST_LANE;
}
