import type { CategoryTable } from '../../contracts/categories.js';

export const CATEGORIES: CategoryTable = {
  'water.leak': {
    severity: 'major',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    lane: 1,
    description: 'a water leak sensor is wet (pump room, basement, water-meter well)',
  },
};
