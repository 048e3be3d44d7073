import type { CategoryTable } from '../../contracts/categories.js';

export const CATEGORIES: CategoryTable = {
  'gas.leak': {
    severity: 'critical',
    deadlineMinutes: 15,
    ackWithinMinutes: 2,
    lane: 0,
    description: 'gas at or above the alarm threshold',
  },
  'gas.leak_warning': {
    severity: 'major',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    lane: 0,
    description: 'gas above the warning threshold',
  },
};
