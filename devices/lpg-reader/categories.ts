import type { CategoryTable } from '../../contracts/categories.js';

export const CATEGORIES: CategoryTable = {
  'lpg.cylinder_scrapped': {
    severity: 'critical',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    lane: 1,
    description: 'a scrapped LPG cylinder was filled or delivered',
  },
  'lpg.cylinder_overdue': {
    severity: 'major',
    deadlineMinutes: 240,
    ackWithinMinutes: 30,
    lane: 1,
    description: 'an LPG cylinder past its inspection date was filled or delivered',
  },
  'lpg.cylinder_unregistered': {
    severity: 'major',
    deadlineMinutes: 240,
    ackWithinMinutes: 30,
    lane: 1,
    description: 'an LPG cylinder not in the registry was scanned',
  },
  'lpg.cross_filling': {
    severity: 'major',
    deadlineMinutes: 240,
    ackWithinMinutes: 30,
    lane: 1,
    description: 'a station filled a cylinder another station owns',
  },
  'lpg.overfill': {
    severity: 'critical',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    lane: 1,
    description: 'a cylinder was filled above its rated fill',
  },
};
