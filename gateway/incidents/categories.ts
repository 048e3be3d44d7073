/**
 * Every incident category the gateway can raise, each taken from the one place that declares it:
 * the gateway's own (`device.*`, raised for any kind: offline, fault, low battery, tamper), the
 * camera stage's, the detectors' rules', and each device kind's. A code declared twice stops the
 * gateway at start-up; a deployment overrides severity and times in `incidents.categories`.
 */
import type { Category, CategoryTable } from '../../contracts/categories.js';
import { gridedgeError } from '../../core/errors.js';
import { CATEGORIES as CAMERA_CATEGORIES } from '../../devices/camera/categories.js';
import { deviceKinds } from '../../devices/registry.js';
import { VISION_CATEGORIES } from '../vision/categories.js';

export type { Category, CategoryTable };

/** The gateway's own: about the devices themselves, whatever their kind. */
export const GATEWAY_CATEGORIES: CategoryTable = {
  'device.offline': {
    severity: 'minor',
    deadlineMinutes: 24 * 60,
    ackWithinMinutes: 60,
    lane: 3,
    description: 'a device stopped reporting',
  },
  'device.fault': { severity: 'minor', deadlineMinutes: 24 * 60, ackWithinMinutes: 60, lane: 3, description: 'a device reports a fault' },
  'device.low_battery': {
    severity: 'minor',
    deadlineMinutes: 3 * 24 * 60,
    ackWithinMinutes: 24 * 60,
    lane: 3,
    description: 'a device battery is low',
  },
  'device.tamper': {
    severity: 'major',
    deadlineMinutes: 120,
    ackWithinMinutes: 10,
    lane: 3,
    description: 'a device was removed from its base or opened',
  },
};

/** One table from several declarations; the same code from two of them is a mistake, said at once. */
export function combineCategories(declared: ReadonlyArray<{ owner: string; categories: CategoryTable }>): CategoryTable {
  const table: Record<string, Category> = {};
  const ownerOf = new Map<string, string>();
  for (const { owner, categories } of declared) {
    for (const [code, c] of Object.entries(categories)) {
      const first = ownerOf.get(code);
      if (first) throw gridedgeError('GE_ERR_CATEGORY_TWICE', code, first, owner);
      ownerOf.set(code, owner);
      table[code] = c;
    }
  }
  return table;
}

/** Who declares which categories, in the order the README's table lists them. */
export const CATEGORY_DECLARATIONS: ReadonlyArray<{ owner: string; categories: CategoryTable }> = [
  ...[...deviceKinds.values()].map((k) => ({ owner: `device kind \`${k.kind}\``, categories: k.categories })),
  { owner: 'the camera stage (`devices/camera`)', categories: CAMERA_CATEGORIES },
  { owner: "the detectors' rules (`gateway/vision`)", categories: VISION_CATEGORIES },
  { owner: 'the gateway, for any device', categories: GATEWAY_CATEGORIES },
];

export const CATEGORIES: CategoryTable = combineCategories(CATEGORY_DECLARATIONS);

/** The defaults with a deployment's overrides (`incidents.categories` in the config) laid over them. */
export function withOverrides(overrides: Record<string, Partial<Category>> = {}, base: CategoryTable = CATEGORIES): CategoryTable {
  const table: Record<string, Category> = { ...base };
  for (const [code, o] of Object.entries(overrides)) {
    const known = table[code];
    if (!known) throw gridedgeError('GE_ERR_UNKNOWN_CATEGORY', code);
    table[code] = { ...known, ...o };
  }
  return table;
}

export function categoryOf(code: string, table: CategoryTable = CATEGORIES): Category {
  const c = table[code];
  if (!c) throw gridedgeError('GE_ERR_UNKNOWN_CATEGORY', code);
  return c;
}
