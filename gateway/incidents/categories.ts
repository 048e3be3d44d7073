/**
 * Incident categories: dotted codes with a default severity and handling deadline (处置时限).
 * Device kinds add their categories here; a deployment will override them in config.
 */
import type { Severity } from '../../devices/types.js';

export interface Category {
  severity: Severity;
  /** Minutes from first occurrence to the handling deadline. */
  deadlineMinutes: number;
  /** Minutes the platform has to acknowledge before a reminder goes out. */
  ackWithinMinutes: number;
  description: string;
}

export type CategoryTable = Readonly<Record<string, Category>>;

export const CATEGORIES: CategoryTable = {
  'fire.smoke_alarm': { severity: 'critical', deadlineMinutes: 15, ackWithinMinutes: 2, description: 'a smoke alarm is sounding' },
  'fire.video_flame': {
    severity: 'critical',
    deadlineMinutes: 15,
    ackWithinMinutes: 2,
    description: 'a camera sees flames (on-device detector; confirm on the evidence picture)',
  },
  'fire.video_smoke': {
    severity: 'major',
    deadlineMinutes: 15,
    ackWithinMinutes: 5,
    description: 'a camera sees smoke spreading (on-device detector; confirm on the evidence picture)',
  },
  'gas.leak': { severity: 'critical', deadlineMinutes: 15, ackWithinMinutes: 2, description: 'gas at or above the alarm threshold' },
  'gas.leak_warning': { severity: 'major', deadlineMinutes: 60, ackWithinMinutes: 10, description: 'gas above the warning threshold' },
  'lpg.cylinder_scrapped': {
    severity: 'critical',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    description: 'a scrapped LPG cylinder was filled or delivered',
  },
  'lpg.cylinder_overdue': {
    severity: 'major',
    deadlineMinutes: 240,
    ackWithinMinutes: 30,
    description: 'an LPG cylinder past its inspection date was filled or delivered',
  },
  'lpg.cylinder_unregistered': {
    severity: 'major',
    deadlineMinutes: 240,
    ackWithinMinutes: 30,
    description: 'an LPG cylinder not in the registry was scanned',
  },
  'lpg.cross_filling': {
    severity: 'major',
    deadlineMinutes: 240,
    ackWithinMinutes: 30,
    description: 'a station filled a cylinder another station owns',
  },
  'lpg.overfill': {
    severity: 'critical',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    description: 'a cylinder was filled above its rated fill',
  },
  'drone.geofence_breach': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    description: 'a drone left its patrol area or entered a no-fly zone',
  },
  'drone.low_battery': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    description: 'a drone in the field is low on battery',
  },
  'drone.link_lost': { severity: 'critical', deadlineMinutes: 15, ackWithinMinutes: 2, description: 'a drone stopped reporting' },
  'vehicle.watchlist_plate': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    description: 'a vehicle on the blocklist passed a camera',
  },
  'vehicle.muck_truck_off_hours': {
    severity: 'major',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    description: 'a muck truck passed outside its allowed hours',
  },
  'person.restricted_zone': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    description: 'a person in a restricted zone of a camera, in its restricted hours',
  },
  'camera.tamper': {
    severity: 'major',
    deadlineMinutes: 120,
    ackWithinMinutes: 10,
    description: 'a camera reports tampering (covered, turned away, defocused)',
  },
  'camera.video_lost': {
    severity: 'minor',
    deadlineMinutes: 24 * 60,
    ackWithinMinutes: 60,
    description: 'a camera stream stopped delivering frames',
  },
  'device.offline': { severity: 'minor', deadlineMinutes: 24 * 60, ackWithinMinutes: 60, description: 'a device stopped reporting' },
  'device.fault': { severity: 'minor', deadlineMinutes: 24 * 60, ackWithinMinutes: 60, description: 'a device reports a fault' },
  'device.low_battery': {
    severity: 'minor',
    deadlineMinutes: 3 * 24 * 60,
    ackWithinMinutes: 24 * 60,
    description: 'a device battery is low',
  },
  'device.tamper': {
    severity: 'major',
    deadlineMinutes: 120,
    ackWithinMinutes: 10,
    description: 'a device was removed from its base or opened',
  },
};

/** The defaults with a deployment's overrides (`incidents.categories` in the config) laid over them. */
export function withOverrides(overrides: Record<string, Partial<Category>> = {}, base: CategoryTable = CATEGORIES): CategoryTable {
  const table: Record<string, Category> = { ...base };
  for (const [code, o] of Object.entries(overrides)) {
    const known = table[code];
    if (!known) throw new Error(`unknown incident category '${code}'`);
    table[code] = { ...known, ...o };
  }
  return table;
}

export function categoryOf(code: string, table: CategoryTable = CATEGORIES): Category {
  const c = table[code];
  if (!c) throw new Error(`unknown incident category '${code}': add it to gateway/incidents/categories.ts`);
  return c;
}
