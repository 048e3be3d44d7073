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

export const CATEGORIES: Readonly<Record<string, Category>> = {
  'fire.smoke_alarm': { severity: 'critical', deadlineMinutes: 15, ackWithinMinutes: 2, description: 'a smoke alarm is sounding' },
  'device.offline': { severity: 'minor', deadlineMinutes: 24 * 60, ackWithinMinutes: 60, description: 'a device stopped reporting' },
};

export function categoryOf(code: string): Category {
  const c = CATEGORIES[code];
  if (!c) throw new Error(`unknown incident category '${code}': add it to gateway/incidents/categories.ts`);
  return c;
}
