import type { CategoryTable } from '../../contracts/categories.js';

export const CATEGORIES: CategoryTable = {
  'fire.smoke_alarm': { severity: 'critical', deadlineMinutes: 15, ackWithinMinutes: 2, lane: 0, description: 'a smoke alarm is sounding' },
};
