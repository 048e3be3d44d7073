import type { CategoryTable } from '../../contracts/categories.js';

export const CATEGORIES: CategoryTable = {
  'drone.geofence_breach': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    lane: 1,
    description: 'a drone left its patrol area or entered a no-fly zone',
  },
  'drone.low_battery': {
    severity: 'major',
    deadlineMinutes: 30,
    ackWithinMinutes: 5,
    lane: 1,
    description: 'a drone in the field is low on battery',
  },
  'drone.hms_warning': {
    severity: 'major',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    lane: 1,
    description: 'a dock or aircraft reports an HMS warning (level 2): see its codes in the facts',
  },
  'drone.task_failed': {
    severity: 'major',
    deadlineMinutes: 60,
    ackWithinMinutes: 10,
    lane: 1,
    description: 'a flight task (patrol route) failed or timed out before it finished',
  },
  'drone.link_lost': { severity: 'critical', deadlineMinutes: 15, ackWithinMinutes: 2, lane: 1, description: 'a drone stopped reporting' },
};
